/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* wg-quick configuration files: parse and render.
 *
 * The parser accepts what wg-quick accepts: case-insensitive section and key names,
 * whitespace around '=' and at line ends, CR LF line endings, '#' comments (whole lines
 * and after a value), repeated keys (Address, DNS, AllowedIPs accumulate), comma lists with
 * or without spaces, IPv6, "[v6]:port" and host name endpoints, bare addresses taken as
 * host prefixes, and the wg-quick-only keys (Table, PreUp/PostUp/PreDown/PostDown,
 * SaveConfig, FwMark) which are kept. Empty values of hook keys and Table are allowed;
 * an empty key value anywhere else is an error. Unknown sections or keys, bad keys, bad
 * numbers, a peer without a PublicKey: errors naming the line and the bad value.
 *
 * "# Name = foo" / "# friendly_name = foo" / "# Name: foo" comment lines give a peer a
 * name: inside its [Peer] before the first key (wg-portal, the prometheus exporter,
 * wg-meshconf), or just above its [Peer] line (wireguard-ui).
 *
 * The renderer writes the keys in a fixed order; render -> parse -> render is the
 * identity.
 *
 * Details of this implementation:
 * - Secrets are never quoted: "line 3: invalid PrivateKey". Key and section names are
 *   quoted only when they look like names (letters, digits, '_', '-', at most 32), since
 *   a line without a proper name may be a pasted key; such lines get "line N: expected
 *   'Key = Value' or a [Section]".
 * - Single-valued keys (PrivateKey, ListenPort, MTU, FwMark, Table, SaveConfig, PublicKey,
 *   PresharedKey, Endpoint, PersistentKeepalive) given twice in a section, and a second
 *   [Interface], are errors. A [Peer] given twice (same PublicKey) is merged into its first
 *   appearance when the two agree: the same AllowedIPs (in any order; wg would keep only
 *   the last block's), and no different PresharedKey, Endpoint or PersistentKeepalive;
 *   otherwise that is an error. AllowedIPs are compared as wg keeps them, host bits
 *   cleared: within a peer 10.0.0.2/24 after 10.0.0.1/24 is a repeat and dropped (the
 *   first is kept as written).
 * - Section headers: names in any case, blanks around the brackets; blanks inside them
 *   ("[ Interface ]") are refused for [Interface], which wg-quick does not recognise so
 *   written, and allowed for [Peer], which wg reads with its blanks removed.
 * - Comments that are not valid UTF-8 text (or hold control characters) are dropped, not
 *   refused (wg drops every comment), a name comment among them; SaveConfig is read in any
 *   case, as wg-quick does.
 * - A file without [Interface] parses (wg accepts it) with has_interface false: importers
 *   that need an interface must check it.
 * - Empty hook lines and an empty Table are dropped (both mean "nothing" to wg-quick).
 * - Address and DNS lists split on commas and whitespace (as wg-quick's bash does),
 *   AllowedIPs on commas only. A DNS entry is an IP address or a search domain of
 *   letter/digit/hyphen labels. Endpoints: "host:port", "[v6]:port", "[v6%zone]:port",
 *   port 1-65535, host names letter/digit/hyphen labels.
 * - Numbers: ListenPort 0-65535, MTU 576-65535, PersistentKeepalive 0-65535 or "off",
 *   FwMark decimal, "0x" hex or "off". Rendered in decimal, FwMark 0 as "off".
 * - Comments: lines before the first section go to comments; in a [Peer] before its first
 *   key, "# Name = x", "# friendly_name = x" and "# Name: x" name the peer (the first one
 *   wins). Such a comment after the keys of a section (a [Peer]'s or the [Interface]'s)
 *   names the next [Peer] if only blank and comment lines come between, and no peer
 *   otherwise; a name inside that [Peer] before its keys wins over it. A name comment
 *   before the first section or in an [Interface] before its keys names no peer. In an
 *   [Interface] without PrivateKey the first comment before any key is read back as
 *   private_key_note. All other comments are dropped. "# " is stripped as one '#' and one
 *   optional space.
 * - Values must be UTF-8 without control characters (tab allowed); an error names the key
 *   ("line 3: Address: not UTF-8 text") without quoting the value. A leading UTF-8 BOM is
 *   skipped. Hook values (PreUp, PostUp, PreDown, PostDown) are the exception: wg-quick
 *   runs whatever bytes they hold, so a file with one that is not text parses, without any
 *   hooks (a half set could run a PostDown without its PostUp) and with hooks_dropped set.
 * - Error messages are valid UTF-8: a quoted value is cut between two characters, at most
 *   256 bytes of it, with "..." added.
 * - The renderer refuses with -EINVAL any value the parser would not give back (a hook
 *   with '#' or a newline, a DNS entry with a space, a bad endpoint, MTU out of range...).
 *   A config built with wgconf_new() renders [Interface] when any interface field is set;
 *   set has_interface for configs whose parsed form must compare equal. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "keys.h"

typedef struct WgConfPeer {
        char *name;                         /* from a "# Name =" comment, or NULL */
        uint8_t public_key[WG_KEY_LEN];     /* always present after a successful parse */
        bool has_preshared_key;
        uint8_t preshared_key[WG_KEY_LEN];
        IpPrefix *allowed_ips;
        size_t n_allowed_ips;
        char *endpoint;                     /* "host:port" / "[v6]:port" as written, or NULL */
        bool has_persistent_keepalive;
        uint16_t persistent_keepalive;      /* 0 = off */
} WgConfPeer;

typedef struct WgConf {
        bool has_interface;                 /* an [Interface] section was present */
        bool has_private_key;
        uint8_t private_key[WG_KEY_LEN];
        /* When rendering without a private key: a comment text that says why, written in
         * place of the PrivateKey line, e.g. "The private key is not held by wgnet". */
        char *private_key_note;
        IpPrefix *addresses;
        size_t n_addresses;
        char **dns;                         /* servers and search domains, as given */
        size_t n_dns;
        bool has_listen_port;
        uint16_t listen_port;
        bool has_mtu;
        uint32_t mtu;
        bool has_fwmark;
        uint32_t fwmark;                    /* 0 = off */
        char *table;                        /* NULL = unset */
        char **pre_up, **post_up, **pre_down, **post_down;
        size_t n_pre_up, n_post_up, n_pre_down, n_post_down;
        bool hooks_dropped;                 /* parse: a hook was not text, so none was kept */
        int save_config;                    /* -1 unset, 0 false, 1 true */
        char **comments;                    /* comment lines rendered at the top ("# " added) */
        size_t n_comments;
        WgConfPeer *peers;
        size_t n_peers;
} WgConf;

WgConf *wgconf_new(void);
/* Wipes the keys. */
WgConf *wgconf_free(WgConf *c);
static inline void wgconf_freep(WgConf **c) {
        if (*c)
                *c = wgconf_free(*c);
}

/* Parse text[len] (need not be NUL-terminated; an embedded NUL is an error). On error,
 * *ret_error (if not NULL) gets a malloc'd message like
 * "line 7: invalid PublicKey 'xxxx'"; returns -EINVAL (-ENOMEM on allocation failure, and
 * then *ret_error is not written). On success *ret_error is not written. */
int wgconf_parse(const char *text, size_t len, WgConf **ret, char **ret_error);

/* Render in wg-quick format. The result is malloc'd; it may hold a private key: free it
 * with wg_wipe_free_string(). */
int wgconf_render(const WgConf *c, char **ret);

/* Builders (copy their arguments). */
int wgconf_add_address(WgConf *c, const IpPrefix *p);
int wgconf_add_dns(WgConf *c, const char *s);
int wgconf_add_comment(WgConf *c, const char *s);

/* What the renderer accepts, for callers that check values before they are stored. */
/* One DNS entry: an IPv4/IPv6 address (wg-quick's rule: only digits and dots, or any ':')
 * or a search domain (letters, digits, '-' labels). */
bool wgconf_dns_valid(const char *s, size_t len);
/* "host:port", "[v6]:port" or "[v6%zone]:port"; port 1-65535. */
bool wgconf_endpoint_valid(const char *s, size_t len);
WgConfPeer *wgconf_add_peer(WgConf *c);     /* zeroed peer appended; NULL on ENOMEM */
int wgconf_peer_add_allowed_ip(WgConfPeer *p, const IpPrefix *ip);
/* Does a peer's AllowedIPs hold 0.0.0.0/0 or ::/0 (what makes `wg-quick up` route the
 * host's traffic through the tunnel)? */
bool wgconf_has_default_route(const WgConf *c);
