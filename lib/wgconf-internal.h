/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Checks shared by the wg-quick parser and renderer, so that the renderer refuses exactly
 * what the parser would not give back unchanged. */

#include <stdbool.h>
#include <stddef.h>

#include "wgconf.h"

/* Valid UTF-8 without control characters other than tab. */
bool wgconf_text_valid(const char *s, size_t len);
/* Table: non-empty, printable, no whitespace, no '#'. */
bool wgconf_table_valid(const char *s, size_t len);
/* A hook command: non-empty, valid text, no '#', no whitespace at either end. */
bool wgconf_hook_valid(const char *s, size_t len);
/* A peer name: valid text, no whitespace at either end (may be empty). */
bool wgconf_name_valid(const char *s, size_t len);

bool wgconf_is_space(char c);

/* Grow a malloc'd array of n elements of size sz to n + 1; when it has to move, the old
 * block is wiped (the elements may hold keys) and the room doubled. The new element is
 * zeroed. Returns a pointer to it, or NULL on ENOMEM. */
void *wgconf_array_append(void **array, size_t *n, size_t sz);

int wgconf_strv_append(char ***l, size_t *n, const char *s, size_t len);
/* Drop repeated AllowedIPs of a peer, keeping the first of each as written and in order.
 * Entries that differ only in host bits are repeats: 10.0.0.1/24 and 10.0.0.2/24 are both
 * 10.0.0.0/24 to wg. */
int wgconf_peer_dedup_allowed_ips(WgConfPeer *peer);
/* Do two peers have the same AllowedIPs to wg (host bits cleared), in any order? Both
 * lists without repeats. */
int wgconf_peer_same_allowed_ips(const WgConfPeer *x, const WgConfPeer *y, bool *ret);

/* Free the n strings of *l and *l, and set both to empty. */
void wgconf_strv_clear(char ***l, size_t *n);
