/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The WireGuard cross-platform userspace API (UAPI) text protocol, as spoken over
 * /run/wireguard/IF.sock by wireguard-go and friends. Pure functions: no I/O.
 *
 * Requests and replies are "key=value\n" lines ending with an empty line. Keys are hex. */

#include <stdbool.h>
#include <stddef.h>

#include "wgdevice.h"

/* What a parse error is about: the 1-based line number and a message that names the line
 * (secrets are never quoted: for key lines only the key name is given). */
typedef struct UapiError {
        unsigned line;
        char message[160];
} UapiError;

/* "get=1\n\n". */
const char *uapi_format_get(void);

/* The "set=1" request for a sparse WgDevice (as the flags say), ending with the empty
 * line. *ret is NUL-terminated and holds secrets: free it with wg_wipe_free(ret, len + 1).
 * -EINVAL for something that cannot be expressed (a bad allowed IP). */
int uapi_format_set(const WgDevice *d, char **ret, size_t *ret_len);

/* Parse a reply to get=1 (all of it, up to and including the empty line that ends it).
 * Every line is checked: known keys only, in a valid place, values strictly formatted,
 * no duplicates, "errno=0" as the last line. -EBADMSG (with *ret_error filled if given)
 * for a malformed reply; -N for a well-formed "errno=N" with N != 0. The device gets the
 * name ifname, and its public key is derived from the private key. */
int uapi_parse_get_reply(const char *buf, size_t len, const char *ifname, WgDevice **ret, UapiError *ret_error);

/* Parse a reply to set=1: "errno=N\n\n". 0, -N, or -EBADMSG if malformed. */
int uapi_parse_set_reply(const char *buf, size_t len, UapiError *ret_error);

/* Is this buffer a complete reply (ends with an empty line)? */
bool uapi_reply_complete(const char *buf, size_t len);
