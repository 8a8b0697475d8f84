/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the wgconf tests: example keys, parse-or-fail, structural equality and
 * the round-trip check. */

#include <errno.h>

#include "test.h"
#include "utf8-valid.h"
#include "wgconf.h"

/* wg(8) example keys */
#define K1 "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define K2 "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define K3 "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
#define K4 "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA="

static inline WgConf *parse_ok_n(const char *text, size_t len) {
        WgConf *c = NULL;
        char *err = NULL;

        int r = wgconf_parse(text, len, &c, &err);
        if (r < 0)
                TEST_FAIL("parse failed (%d): %s\n%s", r, err ? err : "?", text);
        ASSERT_TRUE(c);
        return c;
}

static inline WgConf *parse_ok(const char *text) {
        return parse_ok_n(text, strlen(text));
}

/* The parse fails with -EINVAL and exactly this message, which is valid UTF-8 (the
 * importer sends it over D-Bus). */
static inline void test_fail_n(const char *text, size_t len, const char *expected) {
        WgConf *c = NULL;
        char *err = NULL;

        int r = wgconf_parse(text, len, &c, &err);
        if (r != -EINVAL)
                TEST_FAIL("parse of '%s': expected -EINVAL, got %d", text, r);
        ASSERT_TRUE(c == NULL);
        ASSERT_STREQ(err, expected);
        ASSERT_TRUE(utf8_valid(err, strlen(err)));
        free(err);
}

static inline void test_fail_one(const char *text, const char *expected) {
        test_fail_n(text, strlen(text), expected);
}

static inline bool wgconf_util_streq(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

static inline bool wgconf_util_strv_eq(char *const *a, size_t na, char *const *b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!wgconf_util_streq(a[i], b[i]))
                        return false;
        return true;
}

static inline bool wgconf_util_prefixes_eq(const IpPrefix *a, size_t na, const IpPrefix *b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!ip_prefix_equal(&a[i], &b[i]))
                        return false;
        return true;
}

/* Compares every field but hooks_dropped (what a parse left out: a rendering leaves out
 * nothing); reports the first difference on stderr. */
static inline bool wgconf_util_equal(const WgConf *a, const WgConf *b) {
#define DIFF(what)                                                      \
        do {                                                            \
                fprintf(stderr, "  wgconf differs: %s\n", what);        \
                return false;                                           \
        } while (0)
        if (a->has_interface != b->has_interface)
                DIFF("has_interface");
        if (a->has_private_key != b->has_private_key ||
            (a->has_private_key && memcmp(a->private_key, b->private_key, WG_KEY_LEN) != 0))
                DIFF("private key");
        if (!wgconf_util_streq(a->private_key_note, b->private_key_note))
                DIFF("private_key_note");
        if (!wgconf_util_prefixes_eq(a->addresses, a->n_addresses, b->addresses, b->n_addresses))
                DIFF("addresses");
        if (!wgconf_util_strv_eq(a->dns, a->n_dns, b->dns, b->n_dns))
                DIFF("dns");
        if (a->has_listen_port != b->has_listen_port || a->listen_port != b->listen_port)
                DIFF("listen_port");
        if (a->has_mtu != b->has_mtu || a->mtu != b->mtu)
                DIFF("mtu");
        if (a->has_fwmark != b->has_fwmark || a->fwmark != b->fwmark)
                DIFF("fwmark");
        if (!wgconf_util_streq(a->table, b->table))
                DIFF("table");
        if (!wgconf_util_strv_eq(a->pre_up, a->n_pre_up, b->pre_up, b->n_pre_up) ||
            !wgconf_util_strv_eq(a->post_up, a->n_post_up, b->post_up, b->n_post_up) ||
            !wgconf_util_strv_eq(a->pre_down, a->n_pre_down, b->pre_down, b->n_pre_down) ||
            !wgconf_util_strv_eq(a->post_down, a->n_post_down, b->post_down, b->n_post_down))
                DIFF("hooks");
        if (a->save_config != b->save_config)
                DIFF("save_config");
        if (!wgconf_util_strv_eq(a->comments, a->n_comments, b->comments, b->n_comments))
                DIFF("comments");
        if (a->n_peers != b->n_peers)
                DIFF("n_peers");
        for (size_t i = 0; i < a->n_peers; i++) {
                const WgConfPeer *p = &a->peers[i], *q = &b->peers[i];
                if (!wgconf_util_streq(p->name, q->name))
                        DIFF("peer name");
                if (memcmp(p->public_key, q->public_key, WG_KEY_LEN) != 0)
                        DIFF("peer public key");
                if (p->has_preshared_key != q->has_preshared_key ||
                    (p->has_preshared_key && memcmp(p->preshared_key, q->preshared_key, WG_KEY_LEN) != 0))
                        DIFF("peer preshared key");
                if (!wgconf_util_prefixes_eq(p->allowed_ips, p->n_allowed_ips, q->allowed_ips, q->n_allowed_ips))
                        DIFF("peer allowed ips");
                if (!wgconf_util_streq(p->endpoint, q->endpoint))
                        DIFF("peer endpoint");
                if (p->has_persistent_keepalive != q->has_persistent_keepalive ||
                    p->persistent_keepalive != q->persistent_keepalive)
                        DIFF("peer keepalive");
        }
        return true;
#undef DIFF
}

/* c parses from somewhere; render it, parse that, compare, render again, compare text. */
static inline void wgconf_util_round_trip(const WgConf *c) {
        char *r1 = NULL, *r2 = NULL, *err = NULL;
        WgConf *c2 = NULL;

        ASSERT_OK(wgconf_render(c, &r1));
        int r = wgconf_parse(r1, strlen(r1), &c2, &err);
        if (r < 0)
                TEST_FAIL("rendered config does not parse: %s\n%s", err ? err : "?", r1);
        bool eq = wgconf_util_equal(c, c2);
        ASSERT_OK(wgconf_render(c2, &r2));
        bool same = strcmp(r1, r2) == 0;
        if (!same)
                fprintf(stderr, "first render:\n%s\nsecond render:\n%s\n", r1, r2);
        wgconf_free(c2);
        wg_wipe_free_string(r1);
        wg_wipe_free_string(r2);
        ASSERT_TRUE(eq);
        ASSERT_TRUE(same);
}
