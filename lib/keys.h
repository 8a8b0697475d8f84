/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Curve25519 keys for WireGuard, and their canonical base64 form. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_KEY_LEN 32
#define WG_KEY_B64_LEN 44               /* characters, without the NUL */
#define WG_KEY_B64_SIZE (WG_KEY_B64_LEN + 1)

/* Initialise libsodium; safe to call more than once. Negative errno on failure. */
int wg_crypto_init(void);

/* A new clamped Curve25519 private key. */
int wg_key_generate_private(uint8_t ret[WG_KEY_LEN]);
/* A new random preshared key. */
int wg_key_generate_preshared(uint8_t ret[WG_KEY_LEN]);
/* The public key of a private key (clamps a copy first, like wg pubkey). -EINVAL if the
 * result is the all-zero point. */
int wg_key_public_from_private(uint8_t ret_public[WG_KEY_LEN], const uint8_t private_key[WG_KEY_LEN]);

/* 44 characters + NUL, always succeeds. */
void wg_key_to_base64(char ret[WG_KEY_B64_SIZE], const uint8_t key[WG_KEY_LEN]);
/* Accepts exactly a canonical 44-character base64 key (standard alphabet, one '=' pad,
 * zero trailing bits); anything else -EINVAL. ret written only on success. */
int wg_key_from_base64(uint8_t ret[WG_KEY_LEN], const char *b64);
/* As above, for a string that is not NUL-terminated. */
int wg_key_from_base64_n(uint8_t ret[WG_KEY_LEN], const char *b64, size_t len);

/* Constant-time comparisons. */
bool wg_key_equal(const uint8_t a[WG_KEY_LEN], const uint8_t b[WG_KEY_LEN]);
bool wg_key_is_zero(const uint8_t key[WG_KEY_LEN]);

/* Wipe memory in a way the compiler cannot elide. */
void wg_wipe(void *p, size_t n);
/* free() after wiping n bytes; NULL is fine. */
void wg_wipe_free(void *p, size_t n);
/* Wipe and free a NUL-terminated string. */
void wg_wipe_free_string(char *s);
static inline void wg_wipe_free_stringp(char **s) {
        wg_wipe_free_string(*s);
}
