/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Curve25519 keys (libsodium) and their canonical base64 form.
 *
 * The base64 code touches private keys, so it avoids data-dependent branches and table
 * lookups: each character is mapped with arithmetic on ranges. Whether a string is valid is
 * not secret; which byte was invalid is not reported. */

#include <sodium.h>

#include "keys.h"
#include "macro.h"

int wg_crypto_init(void) {
        /* 0: initialised now, 1: already initialised, -1: failure */
        if (sodium_init() < 0)
                return -EIO;
        return 0;
}

static void key_clamp(uint8_t k[WG_KEY_LEN]) {
        k[0] &= 248;
        k[31] = (k[31] & 127) | 64;
}

int wg_key_generate_preshared(uint8_t ret[WG_KEY_LEN]) {
        int r = wg_crypto_init();
        if (r < 0)
                return r;
        randombytes_buf(ret, WG_KEY_LEN);
        return 0;
}

int wg_key_generate_private(uint8_t ret[WG_KEY_LEN]) {
        int r = wg_crypto_init();
        if (r < 0)
                return r;
        randombytes_buf(ret, WG_KEY_LEN);
        key_clamp(ret);
        return 0;
}

int wg_key_public_from_private(uint8_t ret_public[WG_KEY_LEN], const uint8_t private_key[WG_KEY_LEN]) {
        uint8_t clamped[WG_KEY_LEN], pub[WG_KEY_LEN];
        int r;

        r = wg_crypto_init();
        if (r < 0)
                return r;

        memcpy(clamped, private_key, WG_KEY_LEN);
        key_clamp(clamped);
        r = crypto_scalarmult_curve25519_base(pub, clamped);
        sodium_memzero(clamped, sizeof(clamped));
        /* A clamped scalar times the base point is never the identity; checked anyway. */
        if (r != 0 || sodium_is_zero(pub, sizeof(pub)))
                return -EINVAL;

        memcpy(ret_public, pub, WG_KEY_LEN);
        return 0;
}

/* Arithmetic right shift of a negative int yields -1 (gcc and clang define it so): each
 * "(x >> 8)" below is an all-ones mask when x < 0 and 0 when 0 <= x < 256. */

/* 6-bit value to its character of the standard alphabet. */
static char b64_encode_6(unsigned v) {
        int x = (int) v;
        int c = 'A' + x;

        c += ((25 - x) >> 8) & ('a' - 'A' - 26);               /* x >= 26: a..z */
        c -= ((51 - x) >> 8) & ('a' - 26 - ('0' - 52));         /* x >= 52: 0..9 */
        c -= ((61 - x) >> 8) & ('0' - 52 - ('+' - 62));         /* x == 62: + */
        c += ((62 - x) >> 8) & ('/' - 63 - ('+' - 62));         /* x == 63: / */
        return (char) c;
}

/* 1 if lo <= c <= hi, else 0, without branches. */
static int in_range(int c, int lo, int hi) {
        return (int) (((unsigned) ((lo - 1 - c) & (c - hi - 1)) >> 31) & 1);
}

/* A character to its 6-bit value, or -1. */
static int b64_decode_6(unsigned char ch) {
        int c = ch, v = -1;

        v += in_range(c, 'A', 'Z') * (c - 'A' + 1);
        v += in_range(c, 'a', 'z') * (c - 'a' + 26 + 1);
        v += in_range(c, '0', '9') * (c - '0' + 52 + 1);
        v += in_range(c, '+', '+') * (62 + 1);
        v += in_range(c, '/', '/') * (63 + 1);
        return v;
}

void wg_key_to_base64(char ret[WG_KEY_B64_SIZE], const uint8_t key[WG_KEY_LEN]) {
        size_t i, o = 0;

        for (i = 0; i + 3 <= WG_KEY_LEN; i += 3) {
                uint32_t w = (uint32_t) key[i] << 16 | (uint32_t) key[i + 1] << 8 | key[i + 2];
                ret[o++] = b64_encode_6((w >> 18) & 63);
                ret[o++] = b64_encode_6((w >> 12) & 63);
                ret[o++] = b64_encode_6((w >> 6) & 63);
                ret[o++] = b64_encode_6(w & 63);
        }
        /* 32 = 10 * 3 + 2: two bytes left, three characters and one pad */
        uint32_t w = (uint32_t) key[i] << 16 | (uint32_t) key[i + 1] << 8;
        ret[o++] = b64_encode_6((w >> 18) & 63);
        ret[o++] = b64_encode_6((w >> 12) & 63);
        ret[o++] = b64_encode_6((w >> 6) & 63);
        ret[o++] = '=';
        ret[o] = '\0';
}

int wg_key_from_base64_n(uint8_t ret[WG_KEY_LEN], const char *b64, size_t len) {
        uint8_t key[WG_KEY_LEN];
        int bad = 0, v[4];
        size_t i, o = 0;

        if (!b64 || len != WG_KEY_B64_LEN)
                return -EINVAL;

        for (i = 0; i + 4 <= WG_KEY_B64_LEN - 4; i += 4) {
                for (size_t j = 0; j < 4; j++) {
                        v[j] = b64_decode_6((unsigned char) b64[i + j]);
                        bad |= v[j];    /* -1 sets the sign bit */
                }
                uint32_t w = (uint32_t) (v[0] & 63) << 18 | (uint32_t) (v[1] & 63) << 12 |
                             (uint32_t) (v[2] & 63) << 6 | (uint32_t) (v[3] & 63);
                key[o++] = (uint8_t) (w >> 16);
                key[o++] = (uint8_t) (w >> 8);
                key[o++] = (uint8_t) w;
        }
        for (size_t j = 0; j < 3; j++) {
                v[j] = b64_decode_6((unsigned char) b64[i + j]);
                bad |= v[j];
        }
        /* 3 characters carry 18 bits for 16: the last 2 must be zero (canonical form) */
        bad |= -((v[2] & 3) != 0);
        bad |= -(b64[i + 3] != '=');
        uint32_t w = (uint32_t) (v[0] & 63) << 18 | (uint32_t) (v[1] & 63) << 12 |
                     (uint32_t) (v[2] & 63) << 6;
        key[o++] = (uint8_t) (w >> 16);
        key[o++] = (uint8_t) (w >> 8);

        if (bad < 0) {
                sodium_memzero(key, sizeof(key));
                return -EINVAL;
        }
        memcpy(ret, key, WG_KEY_LEN);
        sodium_memzero(key, sizeof(key));
        return 0;
}

int wg_key_from_base64(uint8_t ret[WG_KEY_LEN], const char *b64) {
        if (!b64)
                return -EINVAL;
        return wg_key_from_base64_n(ret, b64, strnlen(b64, WG_KEY_B64_SIZE));
}

bool wg_key_equal(const uint8_t a[WG_KEY_LEN], const uint8_t b[WG_KEY_LEN]) {
        return sodium_memcmp(a, b, WG_KEY_LEN) == 0;
}

bool wg_key_is_zero(const uint8_t key[WG_KEY_LEN]) {
        return sodium_is_zero(key, WG_KEY_LEN) == 1;
}

void wg_wipe(void *p, size_t n) {
        if (p && n > 0)
                sodium_memzero(p, n);
}

void wg_wipe_free(void *p, size_t n) {
        if (!p)
                return;
        sodium_memzero(p, n);
        free(p);
}

void wg_wipe_free_string(char *s) {
        if (!s)
                return;
        wg_wipe_free(s, strlen(s));
}
