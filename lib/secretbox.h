/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Authenticated encryption for data at rest: XChaCha20-Poly1305 (IETF) from libsodium, with
 * associated data that binds each ciphertext to where it is stored (row and column).
 * A sealed blob is nonce (24 bytes) || ciphertext || tag (16 bytes). */

#include <stddef.h>
#include <stdint.h>

#define SECRETBOX_KEY_LEN 32
#define SECRETBOX_NONCE_LEN 24
#define SECRETBOX_TAG_LEN 16
#define SECRETBOX_OVERHEAD (SECRETBOX_NONCE_LEN + SECRETBOX_TAG_LEN)

/* Seal plain[plain_len] into out (capacity out_size >= plain_len + SECRETBOX_OVERHEAD).
 * *ret_len = plain_len + SECRETBOX_OVERHEAD. -ENOBUFS if out is too small. */
int secretbox_seal(const uint8_t key[SECRETBOX_KEY_LEN],
                   const void *plain, size_t plain_len,
                   const void *ad, size_t ad_len,
                   uint8_t *out, size_t out_size, size_t *ret_len);

/* Open a sealed blob. -EBADMSG when the tag, key or associated data do not match,
 * -EINVAL when the blob is too short, -ENOBUFS when out is too small. out is wiped on
 * failure. */
int secretbox_open(const uint8_t key[SECRETBOX_KEY_LEN],
                   const uint8_t *sealed, size_t sealed_len,
                   const void *ad, size_t ad_len,
                   uint8_t *out, size_t out_size, size_t *ret_len);

/* Load the 32-byte key from path. When the file is missing and create is true, create it
 * atomically (random key, written to a temporary file with mode 0600, fsync, rename).
 * Refuses (-EPERM) a file readable or writable by group/others, and (-EBADMSG) one whose
 * size is not exactly 32 bytes. */
int secretbox_key_load(const char *path, int create, uint8_t ret_key[SECRETBOX_KEY_LEN]);
