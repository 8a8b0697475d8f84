/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The real-world wg-quick corpus in ../shared/corpus/wg-quick (WGNET_CORPUS_DIR); its
 * SOURCES.md says which files are valid, invalid and templates. Every file of the corpus
 * must be listed here, so a new one cannot go unchecked. */

#include <dirent.h>
#include <errno.h>
#include <strings.h>
#include <sys/stat.h>

#include "test.h"
#include "macro.h"
#include "wgconf-util.h"
#include "wgconf.h"

typedef enum Expect {
        VALID,
        INVALID,
        /* wg accepts a peer-only file; wgnet's importer refuses it (no [Interface]) */
        PEER_ONLY,
        TEMPLATE,
} Expect;

typedef struct CorpusFile {
        const char *name;
        Expect expect;
        size_t n_peers;         /* VALID, PEER_ONLY */
        unsigned line;          /* INVALID, TEMPLATE: the line the error names */
        const char *error;      /* INVALID: a part of the message */
} CorpusFile;

static const CorpusFile corpus[] = {
        { "ginkgo__crlf-lowercase-peer.conf",                 VALID, 15, 0, NULL },
        { "networkmanager__wg-test0.conf",                    VALID, 3, 0, NULL },
        { "noisysockets__config-testdata-wg0.conf",           VALID, 2, 0, NULL },
        { "protonvpn__table-off-fwmark-crlf.conf",            VALID, 1, 0, NULL },
        { "purevpnwg__aligned-empty-table.conf",              VALID, 1, 0, NULL },
        { "wg-easy__2021-config-wg0.conf",                    VALID, 1, 0, NULL },
        { "wg-easy__generated-in-wiregate-wg0.conf",          VALID, 0, 0, NULL },
        { "wg-easy__pr438-data-wg0.conf",                     VALID, 1, 0, NULL },
        { "wg-meshconf__pr27-host1.conf",                     VALID, 2, 0, NULL },
        { "wgcf__generated-profile.conf",                     VALID, 1, 0, NULL },
        { "wgcf__indented-profile.conf",                      VALID, 1, 0, NULL },
        { "wgconfig-towalink__wgtest.conf",                   VALID, 2, 0, NULL },
        { "wgctrl-go__pr76-full.conf",                        VALID, 1, 0, NULL },
        { "wgctrl-go__pr76-parser-test.conf",                 VALID, 2, 0, NULL },
        { "wgdashboard__2021-saved-wg0.conf",                 VALID, 5, 0, NULL },
        /* three [Peer] sections, one of them twice: merged */
        { "wgdashboard__2022-wg1-backup-duplicate-peer.conf", VALID, 2, 0, NULL },
        { "wireguard-android__pr86-myvpn.conf",               VALID, 1, 0, NULL },
        { "wireguard-android__working.conf",                  VALID, 1, 0, NULL },
        { "wireguard-docs__full-public-server1.conf",         VALID, 4, 0, NULL },
        { "wireguard-docs__internet-vpn-laptop.conf",         VALID, 1, 0, NULL },
        { "wireguard-docs__lan-bridging-montreal.conf",       VALID, 2, 0, NULL },
        { "wireguard-tools-py__friendly-tags.conf",           VALID, 1, 0, NULL },
        { "wireguard-tools-py__ipv6-addr.conf",               VALID, 1, 0, NULL },
        { "wireguard-tools-py__multi-addr.conf",              VALID, 1, 0, NULL },
        { "wireguard-tools__man-wg-quick-client.conf",        VALID, 1, 0, NULL },
        { "wireguard-tools__man-wg-quick-server.conf",        VALID, 3, 0, NULL },
        { "wireguard-tools__man-wg-quick-table.conf",         VALID, 1, 0, NULL },
        { "wireguard-windows__parser-test-input.conf",        VALID, 3, 0, NULL },
        { "wireproxy__many-address.conf",                     VALID, 1, 0, NULL },

        { "amneziawg__client-awg2.conf",                      INVALID, 0, 5, "unknown key 'Jc' in [Interface]" },
        { "cgnat-howto__gateway-comment-as-value.conf",       INVALID, 0, 2, "empty value for PrivateKey" },
        { "ff-vpn__hex-keys.conf",                            INVALID, 0, 2, "invalid PrivateKey" },
        { "gluetun__pr1120-testdata-wg.conf",                 INVALID, 0, 3, "unknown key 'PreSharedKey' in [Interface]" },
        { "gluetun__pr2863-bogus-keys.conf",                  INVALID, 0, 10, "invalid PublicKey 'BBBB" },
        { "kilo__whitespace-placeholder-keys.conf",           INVALID, 0, 2, "invalid PrivateKey" },
        { "networkmanager__wg-test1-bad-privatekey.conf",     INVALID, 0, 2, "invalid PrivateKey" },
        { "networkmanager__wg-test2-unknown-section.conf",    INVALID, 0, 5, "unknown section '[Beer]'" },
        { "networkmanager__wg-test3-bad-listenport.conf",     INVALID, 0, 3, "invalid ListenPort '666666666'" },
        { "tunsafe__client-fill-in.conf",                     INVALID, 0, 5, "empty value for PrivateKey" },
        { "vultr-bird__table-off-redacted.conf",              INVALID, 0, 2, "invalid PrivateKey" },
        { "wg-easy__2021-config-wg0-empty-peer-key.conf",     INVALID, 0, 25, "empty value for PublicKey" },
        { "wireguard-android__broken.conf",                   INVALID, 0, 2, "invalid PrivateKey" },
        { "wireguard-android__invalid-key.conf",              INVALID, 0, 9, "invalid PublicKey 'vBN7" },
        { "wireguard-android__invalid-number.conf",           INVALID, 0, 8, "invalid PersistentKeepalive '0L'" },
        { "wireguard-android__invalid-value.conf",            INVALID, 0, 3, "invalid DNS 'invalid_value'" },
        { "wireguard-android__missing-attribute.conf",        INVALID, 0, 5, "[Peer] without PublicKey" },
        { "wireguard-android__missing-section.conf",          PEER_ONLY, 1, 0, NULL },
        { "wireguard-android__syntax-error.conf",             INVALID, 0, 7, "empty value for Endpoint" },
        { "wireguard-android__unknown-attribute.conf",        INVALID, 0, 8, "unknown key 'DontLetTheFeelingFade' in [Peer]" },
        { "wireguard-android__unknown-section.conf",          INVALID, 0, 5, "unknown section '[Peers]'" },

        { "templates/algo__client.conf.j2.conf",              TEMPLATE, 0, 2, "invalid PrivateKey" },
        { "templates/algo__server.conf.j2.conf",              TEMPLATE, 0, 2, "invalid Address" },
        { "templates/linuxserver-docker-wireguard__peer.conf", TEMPLATE, 0, 2, "invalid Address '${CLIENT_IP}'" },
        { "templates/linuxserver-docker-wireguard__server.conf", TEMPLATE, 0, 2, "invalid Address '${INTERFACE}.1'" },
        { "templates/wg-portal__wg_interface.tpl.conf",       TEMPLATE, 0, 19, "invalid PrivateKey" },
        { "templates/wg-portal__wg_peer.tpl.conf",            TEMPLATE, 0, 3, "expected 'Key = Value'" },
        { "templates/wgdashboard__docker-wg0.template.conf",  TEMPLATE, 0, 2, "invalid Address '${wg_net}/24'" },
        { "templates/wireguard-ui__wg.conf",                  TEMPLATE, 0, 7, "invalid Address" },
        { "templates/wireproxy__docker-config.conf",          TEMPLATE, 0, 2, "empty value for Address" },
};

static const char *corpus_dir(void) {
        const char *d = getenv("WGNET_CORPUS_DIR");
        struct stat st;

        if (!d || stat(d, &st) < 0 || !S_ISDIR(st.st_mode))
                return NULL;
        return d;
}

#define REQUIRE_CORPUS(dir)                                                                     \
        const char *dir = corpus_dir();                                                         \
        if (!dir)                                                                               \
                SKIP("WGNET_CORPUS_DIR unset or missing (../shared/corpus/wg-quick)")

static char *read_file(const char *dir, const char *name, size_t *ret_len) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);

        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t n = 0, cap = 0;
        for (;;) {
                if (n == cap) {
                        cap = cap ? cap * 2 : 8192;
                        char *nb = realloc(buf, cap + 1);
                        if (!nb)
                                abort();
                        buf = nb;
                }
                size_t k = fread(buf + n, 1, cap - n, f);
                if (k == 0)
                        break;
                n += k;
        }
        fclose(f);
        buf[n] = '\0';
        *ret_len = n;
        return buf;
}

static const CorpusFile *corpus_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(corpus); i++)
                if (strcmp(corpus[i].name, name) == 0)
                        return &corpus[i];
        return NULL;
}

static size_t count_listed(const char *dir, const char *sub) {
        char path[4096];
        size_t n = 0;

        snprintf(path, sizeof(path), "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
        DIR *d = opendir(path);
        if (!d)
                TEST_FAIL("cannot open %s", path);
        for (struct dirent *de; (de = readdir(d));) {
                size_t l = strlen(de->d_name);
                if (l < 5 || strcmp(de->d_name + l - 5, ".conf") != 0)
                        continue;
                char name[512];
                snprintf(name, sizeof(name), "%s%s%s", sub ? sub : "", sub ? "/" : "", de->d_name);
                if (!corpus_find(name)) {
                        closedir(d);
                        TEST_FAIL("corpus file %s is not classified in this test", name);
                }
                n++;
        }
        closedir(d);
        return n;
}

TEST(every_file_is_classified) {
        REQUIRE_CORPUS(dir);
        size_t n = count_listed(dir, NULL) + count_listed(dir, "templates");
        ASSERT_EQ(n, ELEMENTSOF(corpus));
}

static size_t count_expect(Expect e) {
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(corpus); i++)
                n += corpus[i].expect == e;
        return n;
}

TEST(counts_match_sources_md) {
        /* SOURCES.md: 29 valid, 21 invalid (one of them peer-only), 9 templates */
        ASSERT_EQ(count_expect(VALID), 29);
        ASSERT_EQ(count_expect(INVALID) + count_expect(PEER_ONLY), 21);
        ASSERT_EQ(count_expect(TEMPLATE), 9);
}

static WgConf *parse_file(const char *dir, const char *name, char **ret_error) {
        size_t len;
        char *text = read_file(dir, name, &len);
        WgConf *c = NULL;

        if (!text)
                TEST_FAIL("cannot read %s", name);
        int r = wgconf_parse(text, len, &c, ret_error);
        free(text);
        if (r < 0 && r != -EINVAL)
                TEST_FAIL("%s: unexpected error %d", name, r);
        return r < 0 ? NULL : c;
}

TEST(valid_files_parse_and_round_trip) {
        REQUIRE_CORPUS(dir);
        unsigned n = 0;

        for (size_t i = 0; i < ELEMENTSOF(corpus); i++) {
                const CorpusFile *f = &corpus[i];
                char *err = NULL;

                if (f->expect != VALID && f->expect != PEER_ONLY)
                        continue;
                WgConf *c = parse_file(dir, f->name, &err);
                if (!c)
                        TEST_FAIL("%s: %s", f->name, err ? err : "?");
                ASSERT_EQ(c->n_peers, f->n_peers);
                ASSERT_EQ(c->has_interface, f->expect == VALID);
                if (f->expect == VALID)
                        ASSERT_TRUE(c->has_private_key);
                for (size_t k = 0; k < c->n_peers; k++)
                        ASSERT_FALSE(wg_key_is_zero(c->peers[k].public_key));
                fprintf(stderr, "  %s\n", f->name);
                wgconf_util_round_trip(c);
                wgconf_free(c);
                n++;
        }
        ASSERT_EQ(n, 30);
}

static bool error_names_line(const char *err, unsigned line) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "line %u: ", line);
        return strncmp(err, prefix, strlen(prefix)) == 0;
}

TEST(invalid_files_and_templates_are_rejected_naming_the_line) {
        REQUIRE_CORPUS(dir);
        unsigned n = 0;

        for (size_t i = 0; i < ELEMENTSOF(corpus); i++) {
                const CorpusFile *f = &corpus[i];
                char *err = NULL;

                if (f->expect != INVALID && f->expect != TEMPLATE)
                        continue;
                WgConf *c = parse_file(dir, f->name, &err);
                if (c)
                        TEST_FAIL("%s: accepted", f->name);
                ASSERT_TRUE(err);
                if (!error_names_line(err, f->line) || !strstr(err, f->error))
                        TEST_FAIL("%s: got '%s', expected line %u and '%s'", f->name, err, f->line, f->error);
                free(err);
                n++;
        }
        ASSERT_EQ(n, 20 + 9);
}

/* The values of every PrivateKey / PresharedKey line of a file (whatever the section,
 * whether valid or not), for the check that no error message quotes them. */
static bool error_quotes_a_secret(const char *text, const char *err) {
        const char *p = text;

        while (*p) {
                const char *eol = strchr(p, '\n');
                size_t n = eol ? (size_t) (eol - p) : strlen(p);
                const char *eq = memchr(p, '=', n);
                if (eq) {
                        const char *k = p;
                        while (k < eq && (*k == ' ' || *k == '\t'))
                                k++;
                        size_t kn = 0;
                        while (k + kn < eq && k[kn] != ' ' && k[kn] != '\t')
                                kn++;
                        if ((kn == 10 && strncasecmp(k, "PrivateKey", 10) == 0) ||
                            (kn == 12 && strncasecmp(k, "PresharedKey", 12) == 0)) {
                                const char *v = eq + 1;
                                size_t vn = n - (size_t) (v - p);
                                while (vn > 0 && (*v == ' ' || *v == '\t'))
                                        v++, vn--;
                                const char *hash = memchr(v, '#', vn);
                                if (hash)
                                        vn = (size_t) (hash - v);
                                while (vn > 0 && strchr(" \t\r", v[vn - 1]))
                                        vn--;
                                /* short placeholders ("psk", "xxxx") could occur by chance */
                                if (vn >= 8) {
                                        char *s = strndup(v, vn);
                                        bool found = strstr(err, s);
                                        free(s);
                                        if (found)
                                                return true;
                                }
                        }
                }
                if (!eol)
                        break;
                p = eol + 1;
        }
        return false;
}

TEST(no_error_quotes_a_secret) {
        REQUIRE_CORPUS(dir);

        for (size_t i = 0; i < ELEMENTSOF(corpus); i++) {
                size_t len;
                char *text = read_file(dir, corpus[i].name, &len);
                char *err = NULL;
                WgConf *c = NULL;

                ASSERT_TRUE(text);
                if (wgconf_parse(text, len, &c, &err) < 0) {
                        ASSERT_TRUE(err);
                        if (error_quotes_a_secret(text, err))
                                TEST_FAIL("%s: error quotes a secret", corpus[i].name);
                }
                free(err);
                wgconf_free(c);
                free(text);
        }
}

static WgConf *parse_valid(const char *dir, const char *name) {
        char *err = NULL;
        WgConf *c = parse_file(dir, name, &err);
        if (!c)
                TEST_FAIL("%s: %s", name, err ? err : "?");
        return c;
}

static void assert_prefix(const IpPrefix *p, const char *expected) {
        char s[IP_PREFIX_STRLEN];
        ASSERT_STREQ(ip_prefix_to_string(p, s), expected);
}

TEST(details) {
        REQUIRE_CORPUS(dir);
        WgConf *c;

        c = parse_valid(dir, "protonvpn__table-off-fwmark-crlf.conf");
        ASSERT_TRUE(c->has_fwmark);
        ASSERT_EQ(c->fwmark, 51820);
        ASSERT_STREQ(c->table, "off");
        ASSERT_EQ(c->n_post_up, 1);
        ASSERT_EQ(c->n_pre_down, 1);
        ASSERT_EQ(c->n_dns, 0);
        wgconf_free(c);

        c = parse_valid(dir, "purevpnwg__aligned-empty-table.conf");
        ASSERT_TRUE(c->table == NULL);
        ASSERT_EQ(c->n_dns, 2);
        ASSERT_EQ(c->addresses[0].prefixlen, 32);
        wgconf_free(c);

        c = parse_valid(dir, "wireguard-tools-py__friendly-tags.conf");
        ASSERT_STREQ(c->peers[0].name, "Friendly Peer");
        ASSERT_EQ(c->n_dns, 2);
        ASSERT_STREQ(c->dns[1], "test.svc.cluster.local");
        wgconf_free(c);

        c = parse_valid(dir, "wg-meshconf__pr27-host1.conf");
        ASSERT_STREQ(c->peers[0].name, "host2");
        ASSERT_STREQ(c->peers[1].name, "host3");
        assert_prefix(&c->peers[0].allowed_ips[0], "10.10.10.2/16");   /* host bits kept */
        ASSERT_TRUE(c->peers[1].has_preshared_key);
        wgconf_free(c);

        c = parse_valid(dir, "noisysockets__config-testdata-wg0.conf");
        ASSERT_STREQ(c->peers[0].name, "server");
        ASSERT_STREQ(c->peers[1].name, "gateway");
        assert_prefix(&c->addresses[0], "100.64.0.3/32");
        assert_prefix(&c->peers[0].allowed_ips[0], "100.64.0.1/32");
        ASSERT_EQ(c->mtu, 1420);
        wgconf_free(c);

        c = parse_valid(dir, "networkmanager__wg-test0.conf");
        ASSERT_STREQ(c->peers[0].endpoint, "192.95.5.67:1234");
        ASSERT_STREQ(c->peers[1].endpoint, "[2607:5300:60:6b0::c05f:543]:2468");
        ASSERT_STREQ(c->peers[2].endpoint, "test.wireguard.com:18981");
        wgconf_free(c);

        c = parse_valid(dir, "wireguard-android__working.conf");
        ASSERT_TRUE(c->peers[0].has_persistent_keepalive);
        ASSERT_EQ(c->peers[0].persistent_keepalive, 0);
        ASSERT_EQ(c->n_addresses, 2);
        wgconf_free(c);

        c = parse_valid(dir, "wgctrl-go__pr76-full.conf");
        ASSERT_EQ(c->fwmark, 10);
        ASSERT_EQ(c->peers[0].persistent_keepalive, 30);
        ASSERT_STREQ(c->peers[0].endpoint, "www.example.com:880");
        wgconf_free(c);

        c = parse_valid(dir, "wgconfig-towalink__wgtest.conf");
        ASSERT_EQ(c->n_comments, 1);
        ASSERT_STREQ(c->comments[0], "This is a first comment");
        ASSERT_EQ(c->n_addresses, 2);
        ASSERT_EQ(c->peers[1].n_allowed_ips, 2);
        wgconf_free(c);

        c = parse_valid(dir, "ginkgo__crlf-lowercase-peer.conf");
        for (size_t i = 0; i < c->n_peers; i++)
                ASSERT_TRUE(c->peers[i].endpoint == NULL || !strchr(c->peers[i].endpoint, '\r'));
        ASSERT_EQ(c->n_post_up, 1);     /* 'PostUp   = ...' */
        ASSERT_FALSE(strchr(c->post_up[0], '\r'));
        ASSERT_EQ(c->mtu, 1420);
        wgconf_free(c);

        c = parse_valid(dir, "wgdashboard__2022-wg1-backup-duplicate-peer.conf");
        for (size_t i = 0; i < c->n_peers; i++)
                for (size_t j = i + 1; j < c->n_peers; j++)
                        ASSERT_FALSE(wg_key_equal(c->peers[i].public_key, c->peers[j].public_key));
        wgconf_free(c);

        c = parse_valid(dir, "wireguard-android__missing-section.conf");
        ASSERT_FALSE(c->has_interface);
        ASSERT_FALSE(c->has_private_key);
        wgconf_free(c);
}

TEST_MAIN()
