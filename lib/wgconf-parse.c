/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wg-quick configuration parser. Works on the caller's buffer in place: no copy of a key
 * line is made, so there is nothing to wipe but the decoded keys in the result. */

#include <stdarg.h>
#include <strings.h>

#include "macro.h"
#include "utf8-valid.h"
#include "wgconf-internal.h"
#include "wgconf.h"

typedef enum Section {
        SECTION_NONE,
        SECTION_INTERFACE,
        SECTION_PEER,
} Section;

typedef struct LateName {
        char *name;
        ssize_t after;                  /* the peer whose keys it follows, -1: the [Interface] */
        ssize_t next;                   /* the [Peer] right below it, -1: none */
        bool open;                      /* no line but comments and blanks after it yet */
} LateName;

typedef struct Parser {
        WgConf *conf;
        char *error;
        unsigned line;
        Section section;
        unsigned seen;                  /* single-valued keys seen in this section */
        bool section_has_key;
        bool note_set;
        WgConfPeer *peer;               /* the current peer (last of conf->peers) */
        unsigned peer_line;             /* its [Peer] line */
        unsigned *peer_lines;           /* the [Peer] line of every peer */
        size_t n_peer_lines;
        bool peer_has_public_key;
        LateName *late_names;           /* name comments after the keys of a section */
        size_t n_late_names;
} Parser;

/* Give name to peer `to` if it has none (the first name for a peer wins); else drop it. */
static void give_name(Parser *p, char *name, ssize_t to) {
        if (name && to >= 0 && (size_t) to < p->conf->n_peers && !p->conf->peers[to].name) {
                p->conf->peers[to].name = name;
                return;
        }
        free(name);
}

/* Name comments after the keys of a section belong to a peer only once the whole file is
 * read: wireguard-ui and wg-easy write each client's name above its [Peer] line, other
 * files after the peer's keys. A name after the keys of the last peer says "after" (an
 * "above" file has nothing to name below its last peer); otherwise each name goes to the
 * [Peer] right below it (only blank and comment lines between), or, when none is there or
 * it has a name of its own, to the peer whose keys it follows. */
static void assign_late_names(Parser *p) {
        ssize_t last = (ssize_t) p->conf->n_peers - 1;
        bool below = false;
        for (size_t i = 0; i < p->n_late_names; i++)
                below = below || (last >= 0 && p->late_names[i].after == last);
        for (size_t i = 0; i < p->n_late_names; i++) {
                LateName *l = &p->late_names[i];
                ssize_t to = l->after;
                /* (a [Peer] line that failed made no peer: the parse stops there) */
                if (!below && l->next >= 0 && (size_t) l->next < p->conf->n_peers && !p->conf->peers[l->next].name)
                        to = l->next;
                give_name(p, TAKE_PTR(l->name), to);
        }
}

typedef int (*KeyHandler)(Parser *p, const char *v, size_t n);

enum {
        KEY_ALLOW_EMPTY = 1 << 0,       /* an empty value is allowed (hooks, Table) */
        KEY_SINGLE = 1 << 1,            /* at most once per section */
};

typedef struct KeyDef {
        const char *name;
        Section section;
        unsigned flags;
        KeyHandler handler;
} KeyDef;

_printf_(3, 4)
static int fail_at(Parser *p, unsigned line, const char *fmt, ...) {
        char *msg = NULL, *full = NULL;
        va_list ap;

        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = asprintf(&full, "line %u: %s", line, msg);
        free(msg);
        if (r < 0)
                return -ENOMEM;
        free(p->error);
        p->error = full;
        return -EINVAL;
}

#define fail(p, ...) fail_at((p), (p)->line, __VA_ARGS__)

/* A value quoted in a message ("%s"): at most QUOTE_MAX bytes of it, cut between two
 * characters and "..." added. The importer passes the message to sd-bus, which refuses a
 * string that is not UTF-8: half a character would leave its caller without a reply. */
#define QUOTE_MAX 256
#define QUOTE(s, n) quote((char[QUOTE_MAX + 4]) { 0 }, (s), (n))

static const char *quote(char *buf, const char *s, size_t n) {
        size_t k = utf8_prefix_len(s, n, QUOTE_MAX);

        memcpy(buf, s, k);
        if (k < n) {
                memcpy(buf + k, "...", 3);
                k += 3;
        }
        buf[k] = '\0';
        return buf;
}

static void trim(const char **s, size_t *n) {
        while (*n > 0 && wgconf_is_space((*s)[0]))
                (*s)++, (*n)--;
        while (*n > 0 && wgconf_is_space((*s)[*n - 1]))
                (*n)--;
}

static bool word_eq(const char *s, size_t n, const char *word) {
        return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* Decimal, digits only (leading zeros allowed), at most max. */
static int parse_uint(const char *s, size_t n, uint32_t max, uint32_t *ret) {
        uint64_t v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t) (s[i] - '0');
                if (v > max)
                        return -ERANGE;
        }
        *ret = (uint32_t) v;
        return 0;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Calls fn for every non-empty element of a list separated by commas (and by whitespace
 * too if split_space). Elements are trimmed; an empty element is passed on only if
 * !split_space (AllowedIPs, where wg refuses it). */
static int for_each_element(Parser *p, const char *v, size_t n, bool split_space,
                            int (*fn)(Parser *p, const char *e, size_t en)) {
        size_t i = 0;

        while (i <= n) {
                size_t start = i;
                while (i < n && v[i] != ',' && !(split_space && wgconf_is_space(v[i])))
                        i++;
                const char *e = v + start;
                size_t en = i - start;
                trim(&e, &en);
                if (en > 0 || !split_space) {
                        int r = fn(p, e, en);
                        if (r < 0)
                                return r;
                }
                i++;
        }
        return 0;
}

static int parse_private_key(Parser *p, const char *v, size_t n) {
        if (wg_key_from_base64_n(p->conf->private_key, v, n) < 0)
                return fail(p, "invalid PrivateKey");
        p->conf->has_private_key = true;
        return 0;
}

static int parse_address_one(Parser *p, const char *e, size_t n) {
        IpPrefix a;

        if (ip_prefix_parse_n(e, n, true, &a) < 0)
                return fail(p, "invalid Address '%s'", QUOTE(e, n));
        return wgconf_add_address(p->conf, &a);
}

static int parse_address(Parser *p, const char *v, size_t n) {
        size_t before = p->conf->n_addresses;
        int r = for_each_element(p, v, n, true, parse_address_one);
        if (r >= 0 && p->conf->n_addresses == before)
                return fail(p, "empty value for Address");
        return r;
}

static int parse_dns_one(Parser *p, const char *e, size_t n) {
        if (!wgconf_dns_valid(e, n))
                return fail(p, "invalid DNS '%s'", QUOTE(e, n));
        return wgconf_strv_append(&p->conf->dns, &p->conf->n_dns, e, n);
}

static int parse_dns(Parser *p, const char *v, size_t n) {
        size_t before = p->conf->n_dns;
        int r = for_each_element(p, v, n, true, parse_dns_one);
        if (r >= 0 && p->conf->n_dns == before)
                return fail(p, "empty value for DNS");
        return r;
}

static int parse_listen_port(Parser *p, const char *v, size_t n) {
        uint32_t u;

        if (parse_uint(v, n, 65535, &u) < 0)
                return fail(p, "invalid ListenPort '%s'", QUOTE(v, n));
        p->conf->has_listen_port = true;
        p->conf->listen_port = (uint16_t) u;
        return 0;
}

static int parse_mtu(Parser *p, const char *v, size_t n) {
        uint32_t u;

        if (parse_uint(v, n, 65535, &u) < 0 || u < 576)
                return fail(p, "invalid MTU '%s'", QUOTE(v, n));
        p->conf->has_mtu = true;
        p->conf->mtu = u;
        return 0;
}

static int parse_fwmark(Parser *p, const char *v, size_t n) {
        uint32_t u = 0;

        if (word_eq(v, n, "off"))
                u = 0;
        else if (n > 2 && v[0] == '0' && v[1] == 'x') {
                uint64_t x = 0;
                for (size_t i = 2; i < n; i++) {
                        int d = hex_digit(v[i]);
                        if (d < 0)
                                return fail(p, "invalid FwMark '%s'", QUOTE(v, n));
                        x = x << 4 | (uint64_t) d;
                        if (x > UINT32_MAX)
                                return fail(p, "invalid FwMark '%s'", QUOTE(v, n));
                }
                u = (uint32_t) x;
        } else if (parse_uint(v, n, UINT32_MAX, &u) < 0)
                return fail(p, "invalid FwMark '%s'", QUOTE(v, n));

        p->conf->has_fwmark = true;
        p->conf->fwmark = u;
        return 0;
}

static int parse_table(Parser *p, const char *v, size_t n) {
        if (n == 0)     /* wg-quick: empty means unset (auto) */
                return 0;
        if (!wgconf_table_valid(v, n))
                return fail(p, "invalid Table '%s'", QUOTE(v, n));
        p->conf->table = strndup(v, n);
        return p->conf->table ? 0 : -ENOMEM;
}

static int parse_hook(Parser *p, const char *v, size_t n, char ***l, size_t *nl) {
        if (n == 0 || p->conf->hooks_dropped)   /* an empty command does nothing */
                return 0;
        return wgconf_strv_append(l, nl, v, n);
}

static int parse_pre_up(Parser *p, const char *v, size_t n) {
        return parse_hook(p, v, n, &p->conf->pre_up, &p->conf->n_pre_up);
}

static int parse_post_up(Parser *p, const char *v, size_t n) {
        return parse_hook(p, v, n, &p->conf->post_up, &p->conf->n_post_up);
}

static int parse_pre_down(Parser *p, const char *v, size_t n) {
        return parse_hook(p, v, n, &p->conf->pre_down, &p->conf->n_pre_down);
}

static int parse_post_down(Parser *p, const char *v, size_t n) {
        return parse_hook(p, v, n, &p->conf->post_down, &p->conf->n_post_down);
}

static bool is_hook(KeyHandler h) {
        return h == parse_pre_up || h == parse_post_up || h == parse_pre_down || h == parse_post_down;
}

/* A hook command that is not text (Latin-1, a control character): bash runs it, but it has
 * no place in a WgConf, whose strings are shown and rendered. Keeping the other hooks
 * would give a half set (a PostDown without the PostUp it undoes), so all go, those
 * before and those after, and hooks_dropped says so. */
static void drop_hooks(WgConf *c) {
        wgconf_strv_clear(&c->pre_up, &c->n_pre_up);
        wgconf_strv_clear(&c->post_up, &c->n_post_up);
        wgconf_strv_clear(&c->pre_down, &c->n_pre_down);
        wgconf_strv_clear(&c->post_down, &c->n_post_down);
        c->hooks_dropped = true;
}

static int parse_save_config(Parser *p, const char *v, size_t n) {
        /* wg-quick's read_bool: "true" or "false", in any case (it runs with nocasematch) */
        if (n == 4 && strncasecmp(v, "true", 4) == 0)
                p->conf->save_config = 1;
        else if (n == 5 && strncasecmp(v, "false", 5) == 0)
                p->conf->save_config = 0;
        else
                return fail(p, "invalid SaveConfig '%s'", QUOTE(v, n));
        return 0;
}

static int parse_public_key(Parser *p, const char *v, size_t n) {
        if (wg_key_from_base64_n(p->peer->public_key, v, n) < 0)
                return fail(p, "invalid PublicKey '%s'", QUOTE(v, n));
        p->peer_has_public_key = true;
        return 0;
}

static int parse_preshared_key(Parser *p, const char *v, size_t n) {
        if (wg_key_from_base64_n(p->peer->preshared_key, v, n) < 0)
                return fail(p, "invalid PresharedKey");
        p->peer->has_preshared_key = true;
        return 0;
}

#define WGCONF_COMMENTS_MAX 256

static int parse_allowed_ip_one(Parser *p, const char *e, size_t n) {
        IpPrefix a;

        if (ip_prefix_parse_n(e, n, true, &a) < 0)
                return fail(p, "invalid AllowedIPs '%s'", QUOTE(e, n));
        /* repeats are dropped at the end (wgconf_peer_dedup_allowed_ips): a check per
         * entry here would make a long list quadratic */
        return wgconf_peer_add_allowed_ip(p->peer, &a);
}

static int parse_allowed_ips(Parser *p, const char *v, size_t n) {
        return for_each_element(p, v, n, false, parse_allowed_ip_one);
}

static int parse_endpoint(Parser *p, const char *v, size_t n) {
        if (!wgconf_endpoint_valid(v, n))
                return fail(p, "invalid Endpoint '%s'", QUOTE(v, n));
        p->peer->endpoint = strndup(v, n);
        return p->peer->endpoint ? 0 : -ENOMEM;
}

static int parse_keepalive(Parser *p, const char *v, size_t n) {
        uint32_t u = 0;

        if (!word_eq(v, n, "off") && parse_uint(v, n, 65535, &u) < 0)
                return fail(p, "invalid PersistentKeepalive '%s'", QUOTE(v, n));
        p->peer->has_persistent_keepalive = true;
        p->peer->persistent_keepalive = (uint16_t) u;
        return 0;
}

static const KeyDef keys[] = {
        { "PrivateKey",          SECTION_INTERFACE, KEY_SINGLE,      parse_private_key },
        { "Address",             SECTION_INTERFACE, 0,               parse_address },
        { "DNS",                 SECTION_INTERFACE, 0,               parse_dns },
        { "ListenPort",          SECTION_INTERFACE, KEY_SINGLE,      parse_listen_port },
        { "MTU",                 SECTION_INTERFACE, KEY_SINGLE,      parse_mtu },
        { "FwMark",              SECTION_INTERFACE, KEY_SINGLE,      parse_fwmark },
        { "Table",               SECTION_INTERFACE, KEY_SINGLE | KEY_ALLOW_EMPTY, parse_table },
        { "PreUp",               SECTION_INTERFACE, KEY_ALLOW_EMPTY, parse_pre_up },
        { "PostUp",              SECTION_INTERFACE, KEY_ALLOW_EMPTY, parse_post_up },
        { "PreDown",             SECTION_INTERFACE, KEY_ALLOW_EMPTY, parse_pre_down },
        { "PostDown",            SECTION_INTERFACE, KEY_ALLOW_EMPTY, parse_post_down },
        { "SaveConfig",          SECTION_INTERFACE, KEY_SINGLE,      parse_save_config },
        { "PublicKey",           SECTION_PEER,      KEY_SINGLE,      parse_public_key },
        { "PresharedKey",        SECTION_PEER,      KEY_SINGLE,      parse_preshared_key },
        { "AllowedIPs",          SECTION_PEER,      0,               parse_allowed_ips },
        { "Endpoint",            SECTION_PEER,      KEY_SINGLE,      parse_endpoint },
        { "PersistentKeepalive", SECTION_PEER,      KEY_SINGLE,      parse_keepalive },
};

static const char *section_name(Section s) {
        return s == SECTION_INTERFACE ? "[Interface]" : "[Peer]";
}

/* A [Peer] is complete: it needs a PublicKey. */
static int finish_peer(Parser *p) {
        if (p->section != SECTION_PEER)
                return 0;
        if (!p->peer_has_public_key)
                return fail_at(p, p->peer_line, "[Peer] without PublicKey");
        p->peer = NULL;
        return 0;
}

/* Merge "last" (a later [Peer] with the same PublicKey, at line) into "first", as wg does,
 * unless the two disagree. */
static int merge_peer(Parser *p, WgConfPeer *first, WgConfPeer *last, unsigned line) {
        char b64[WG_KEY_B64_SIZE];

        wg_key_to_base64(b64, last->public_key);
        if (first->has_preshared_key && last->has_preshared_key &&
            !wg_key_equal(first->preshared_key, last->preshared_key))
                return fail_at(p, line, "peer '%s' given twice with different PresharedKey", b64);
        if (first->endpoint && last->endpoint && !streq(first->endpoint, last->endpoint))
                return fail_at(p, line, "peer '%s' given twice with different Endpoint", b64);
        if (first->has_persistent_keepalive && last->has_persistent_keepalive &&
            first->persistent_keepalive != last->persistent_keepalive)
                return fail_at(p, line, "peer '%s' given twice with different PersistentKeepalive", b64);
        /* wg starts every [Peer] by replacing the allowed IPs: the last block's list would
         * be the peer's, not the two together. Only the same list (in any order) merges. */
        bool same;
        int r = wgconf_peer_same_allowed_ips(first, last, &same);
        if (r < 0)
                return r;
        if (!same)
                return fail_at(p, line, "peer '%s' given twice with different AllowedIPs (wg would keep only "
                               "the last one's)", b64);

        if (!first->name)
                first->name = TAKE_PTR(last->name);
        if (!first->has_preshared_key && last->has_preshared_key) {
                memcpy(first->preshared_key, last->preshared_key, WG_KEY_LEN);
                first->has_preshared_key = true;
        }
        if (!first->endpoint)
                first->endpoint = TAKE_PTR(last->endpoint);
        if (!first->has_persistent_keepalive && last->has_persistent_keepalive) {
                first->has_persistent_keepalive = true;
                first->persistent_keepalive = last->persistent_keepalive;
        }

        free(last->name);
        free(last->endpoint);
        free(last->allowed_ips);
        wg_wipe(last, sizeof(WgConfPeer));
        return 0;
}

static int peer_ref_compare(const void *a, const void *b) {
        const WgConfPeer *const *x = a, *const *y = b;
        /* public keys: no need for a constant-time comparison */
        int r = memcmp((*x)->public_key, (*y)->public_key, WG_KEY_LEN);
        if (r != 0)
                return r;
        return *x < *y ? -1 : *x > *y;
}

/* After the whole file: merge peers given twice into their first appearance, in file
 * order (so the first conflict reported is the first in the file), then close the gaps.
 * Sorting keeps this O(n log n) for large imports. */
static int merge_duplicate_peers(Parser *p) {
        WgConf *c = p->conf;
        size_t n = c->n_peers;

        if (n < 2)
                return 0;

        _cleanup_(freep) WgConfPeer **sorted = calloc(n, sizeof(WgConfPeer *));
        _cleanup_(freep) size_t *first_of = calloc(n, sizeof(size_t));
        if (!sorted || !first_of)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                sorted[i] = &c->peers[i];
        qsort(sorted, n, sizeof(WgConfPeer *), peer_ref_compare);
        for (size_t i = 0, g = 0; i < n; i++) {
                if (memcmp(sorted[i]->public_key, sorted[g]->public_key, WG_KEY_LEN) != 0)
                        g = i;
                first_of[sorted[i] - c->peers] = (size_t) (sorted[g] - c->peers);
        }

        /* on failure, merged peers are left zeroed in place: wgconf_free() copes */
        for (size_t i = 0; i < n; i++)
                if (first_of[i] != i) {
                        int r = merge_peer(p, &c->peers[first_of[i]], &c->peers[i], p->peer_lines[i]);
                        if (r < 0)
                                return r;
                }

        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
                if (first_of[i] != i)
                        continue;
                if (j != i) {
                        memcpy(&c->peers[j], &c->peers[i], sizeof(WgConfPeer));
                        wg_wipe(&c->peers[i], sizeof(WgConfPeer));
                }
                j++;
        }
        c->n_peers = j;
        return 0;
}

/* Section and key names are quoted in messages only when they look like names: what is
 * there might be a key pasted in the wrong place. */
static bool name_quotable(const char *s, size_t n) {
        if (n == 0 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

static int start_section(Parser *p, const char *s, size_t n) {
        int r;

        if (n < 2 || s[n - 1] != ']' || !wgconf_text_valid(s, n))
                return fail(p, "invalid section header");
        const char *name = s + 1;
        size_t nn = n - 2;
        trim(&name, &nn);
        if (!name_quotable(name, nn))
                return fail(p, "invalid section header");
        /* wg-quick compares the whole header with "[Interface]": "[ Interface ]" is not its
         * interface, and it hands the section's Address, DNS... to wg, which refuses them.
         * ("[ Peer ]" works: wg drops all blanks of a line before it reads it.) */
        if (nn != n - 2 && word_eq(name, nn, "Interface"))
                return fail(p, "section header '%s' with blanks inside the brackets: wg-quick does not "
                            "read it as [Interface]", QUOTE(s, n));

        r = finish_peer(p);
        if (r < 0)
                return r;

        p->seen = 0;
        p->section_has_key = false;
        if (word_eq(name, nn, "Interface")) {
                if (p->conf->has_interface)
                        return fail(p, "duplicate [Interface] section");
                p->conf->has_interface = true;
                p->section = SECTION_INTERFACE;
        } else if (word_eq(name, nn, "Peer")) {
                p->peer = wgconf_add_peer(p->conf);
                if (!p->peer)
                        return -ENOMEM;
                p->peer_line = p->line;
                unsigned *l = wgconf_array_append((void **) &p->peer_lines, &p->n_peer_lines, sizeof(unsigned));
                if (!l)
                        return -ENOMEM;
                *l = p->line;
                p->peer_has_public_key = false;
                p->section = SECTION_PEER;
        } else
                return fail(p, "unknown section '%s'", QUOTE(s, n));
        return 0;
}

/* "Name = foo", "friendly_name = foo", "Name: foo" (the comment without its '#'), and
 * wg-easy's "Client: foo (its id)" above each [Peer]: the name, or false. A name that is
 * not text (a Latin-1 file) is no name: wg drops comments, and so does the parser. */
static bool comment_name(const char *s, size_t n, const char **ret, size_t *ret_len) {
        trim(&s, &n);
        size_t k = 0;
        while (k < n && s[k] != '=' && s[k] != ':' && !wgconf_is_space(s[k]))
                k++;
        bool client = word_eq(s, k, "Client");
        if (!client && !word_eq(s, k, "Name") && !word_eq(s, k, "friendly_name"))
                return false;
        const char *v = s + k;
        size_t vn = n - k;
        trim(&v, &vn);
        if (vn == 0 || (v[0] != '=' && v[0] != ':'))
                return false;
        v++, vn--;
        trim(&v, &vn);
        /* wg-easy: "Client: phone (184a9b70-03b3-4bfb-ae89-ce463634f394)": the id goes */
        if (client && vn > 0 && v[vn - 1] == ')') {
                size_t open = vn;
                while (open > 0 && v[open - 1] != '(')
                        open--;
                if (open > 0) {
                        vn = open - 1;
                        trim(&v, &vn);
                }
        }
        if (vn == 0 || !wgconf_name_valid(v, vn))
                return false;
        *ret = v;
        *ret_len = vn;
        return true;
}

/* A name comment after the keys of a section: recorded, and given to a peer when the
 * whole file is read (assign_late_names). */
static int record_late_name(Parser *p, const char *s, size_t n) {
        const char *v;
        size_t vn;

        if (!comment_name(s, n, &v, &vn) || p->n_late_names >= WGCONF_COMMENTS_MAX)
                return 0;
        LateName *l = wgconf_array_append((void **) &p->late_names, &p->n_late_names, sizeof(LateName));
        if (!l)
                return -ENOMEM;
        *l = (LateName) { .name = strndup(v, vn), .next = -1, .open = true,
                          .after = p->section == SECTION_PEER ? (ssize_t) p->conf->n_peers - 1 : -1 };
        return l->name ? 0 : -ENOMEM;
}

/* A name comment in a [Peer] before its first key is that peer's: the first one wins
 * over later ones and over one above the [Peer] line. */
static int name_peer(Parser *p, const char *s, size_t n) {
        const char *v;
        size_t vn;

        if (p->peer->name || !comment_name(s, n, &v, &vn))
                return 0;
        p->peer->name = strndup(v, vn);
        return p->peer->name ? 0 : -ENOMEM;
}

static int parse_comment(Parser *p, const char *s, size_t n) {
        /* '#', then one optional space: the renderer writes "# text" */
        s++, n--;
        if (n > 0 && s[0] == ' ')
                s++, n--;

        switch (p->section) {
        case SECTION_NONE:
                /* kept to be shown again; one that could not be (not UTF-8, control
                 * characters) is dropped, as wg drops every comment, and so is any beyond
                 * the first WGCONF_COMMENTS_MAX (a file of nothing but comments would
                 * otherwise cost an allocation per line). A name here is not held: the
                 * renderer writes these comments above the first section, which may be a
                 * [Peer]. */
                if (!wgconf_text_valid(s, n) || p->conf->n_comments >= WGCONF_COMMENTS_MAX)
                        return 0;
                return wgconf_strv_append(&p->conf->comments, &p->conf->n_comments, s, n);

        case SECTION_INTERFACE:
                if (p->section_has_key)
                        return record_late_name(p, s, n);
                /* the first comment before any key: in place of a missing PrivateKey (and
                 * a "# Name =" here names the interface, not a peer) */
                if (p->note_set)
                        return 0;
                if (!wgconf_text_valid(s, n))
                        return 0;
                p->conf->private_key_note = strndup(s, n);
                if (!p->conf->private_key_note)
                        return -ENOMEM;
                p->note_set = true;
                return 0;

        case SECTION_PEER:
                if (p->section_has_key)
                        return record_late_name(p, s, n);
                return name_peer(p, s, n);
        }
        return 0;
}

static int parse_key_line(Parser *p, const char *s, size_t n) {
        const char *eq = memchr(s, '=', n);
        if (!eq)
                return fail(p, "expected 'Key = Value' or a [Section]");

        const char *key = s, *v = eq + 1;
        size_t kn = (size_t) (eq - s), vn = n - kn - 1;
        trim(&key, &kn);
        trim(&v, &vn);
        if (kn == 0)
                return fail(p, "missing key before '='");
        if (!name_quotable(key, kn))
                return fail(p, "expected 'Key = Value' or a [Section]");
        if (p->section == SECTION_NONE)
                return fail(p, "key '%s' outside of a section", QUOTE(key, kn));

        const KeyDef *def = NULL;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].section == p->section && word_eq(key, kn, keys[i].name)) {
                        def = &keys[i];
                        break;
                }
        if (!def)
                return fail(p, "unknown key '%s' in %s", QUOTE(key, kn), section_name(p->section));

        unsigned bit = 1u << (def - keys);
        if ((def->flags & KEY_SINGLE) && (p->seen & bit))
                return fail(p, "duplicate %s", def->name);
        p->seen |= bit;
        p->section_has_key = true;

        if (!wgconf_text_valid(v, vn)) {
                if (is_hook(def->handler)) {
                        drop_hooks(p->conf);
                        return 0;
                }
                /* the value is not quoted: it is not text, and it may be a secret */
                return fail(p, "%s: %s", def->name, utf8_valid(v, vn) ? "control character" : "not UTF-8 text");
        }
        if (vn == 0 && !(def->flags & KEY_ALLOW_EMPTY))
                return fail(p, "empty value for %s", def->name);
        return def->handler(p, v, vn);
}

static int parse_line(Parser *p, const char *s, size_t n) {
        if (memchr(s, '\0', n))
                return fail(p, "NUL byte");

        trim(&s, &n);
        if (n == 0)
                return 0;
        if (s[0] == '#')
                return parse_comment(p, s, n);

        /* wg-quick and wg: everything from the first '#' is a comment */
        const char *hash = memchr(s, '#', n);
        if (hash) {
                n = (size_t) (hash - s);
                trim(&s, &n);
        }
        /* the name comments just above: is this the [Peer] right below them? */
        bool peer_header = false;
        if (s[0] == '[' && n >= 2 && s[n - 1] == ']') {
                const char *h = s + 1;
                size_t hn = n - 2;
                trim(&h, &hn);
                peer_header = word_eq(h, hn, "Peer");
        }
        for (size_t i = p->n_late_names; i > 0 && p->late_names[i - 1].open; i--) {
                p->late_names[i - 1].open = false;
                if (peer_header)
                        p->late_names[i - 1].next = (ssize_t) p->conf->n_peers;
        }
        if (s[0] == '[')
                return start_section(p, s, n);
        return parse_key_line(p, s, n);
}

int wgconf_parse(const char *text, size_t len, WgConf **ret, char **ret_error) {
        _cleanup_(wgconf_freep) WgConf *c = NULL;
        Parser p = { 0 };
        int r = 0;

        if (!text && len > 0)
                return -EINVAL;
        if (!ret)
                return -EINVAL;

        c = wgconf_new();
        if (!c)
                return -ENOMEM;
        p.conf = c;

        /* a UTF-8 byte order mark, as some Windows editors write */
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                text += 3, len -= 3;

        size_t i = 0;
        while (i < len) {
                const char *nl = memchr(text + i, '\n', len - i);
                size_t n = nl ? (size_t) (nl - (text + i)) : len - i;
                p.line++;
                r = parse_line(&p, text + i, n);
                if (r < 0)
                        break;
                i += n + 1;
        }
        if (r >= 0)
                r = finish_peer(&p);
        if (r >= 0)
                assign_late_names(&p);
        for (size_t k = 0; r >= 0 && k < p.conf->n_peers; k++)
                r = wgconf_peer_dedup_allowed_ips(&p.conf->peers[k]);
        if (r >= 0)
                r = merge_duplicate_peers(&p);
        free(p.peer_lines);
        for (size_t k = 0; k < p.n_late_names; k++)
                free(p.late_names[k].name);
        free(p.late_names);

        if (r < 0) {
                if (r == -EINVAL && ret_error) {
                        *ret_error = TAKE_PTR(p.error);
                }
                free(p.error);
                return r;
        }

        if (c->has_private_key) {
                free(c->private_key_note);
                c->private_key_note = NULL;
        }
        *ret = TAKE_PTR(c);
        return 0;
}
