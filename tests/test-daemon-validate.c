/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus-util.h"
#include "config.h"
#include "manager.h"
#include "network.h"
#include "peer-add.h"
#include "peer.h"
#include "test.h"
#include "utf8-valid.h"
#include "validate.h"

static const struct {
        const char *s;
        bool ifname, hostname, endpoint, dns, network;
} cases[] = {
        { "wg0", true, true, false, true, true },
        { "office vpn", false, false, false, false, true },
        { "vpn.example.com:51820", false, false, true, false, false },
        { "10.0.0.1:1", false, false, true, false, false },
        { "[2001:db8::1]:51820", false, false, true, false, false },
        { "2001:db8::1:51820", false, false, false, false, false },     /* v6 needs brackets */
        { "[2001:db8::1]", false, false, false, false, false },
        { "host:0", false, false, false, false, false },
        { "host:65536", false, false, false, false, false },
        { "host:080", false, false, false, false, false },
        { "host:", false, false, false, false, false },
        { ":51820", false, false, false, false, false },
        { "foo:99999", false, false, false, false, false },
        { "10.0.0.1", false, true, false, true, false },                /* digits-only labels are host names */
        { "2001:db8::53", false, false, false, true, false },
        { "example.internal", false, true, false, true, true },
        { "invalid_value", true, false, false, false, true },
        { "-bad.example", false, false, false, false, true },
        { "bad-.example", true, false, false, false, true },
        { "a..b", true, false, false, false, true },
        { "", false, false, false, false, false },
        { "way-too-long-ifname", false, true, false, true, true },
        { "wg/0", false, false, false, false, false },
        { ".", false, false, false, false, false },                     /* reads as an address/id */
        { "tab\there", false, false, false, false, false },
        { " lead", false, false, false, false, false },
        /* digits and dots that are no address: a host name to hostname_is_valid, but the
         * config renderer refuses them, so they are refused when set */
        { "10.0.0", false, true, false, false, false },
        { "10.0.0:51820", false, false, false, false, false },
        { "1.2.3.4.5", false, true, false, false, false },
};

TEST(validators) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *s = cases[i].s;
                if (ifname_is_valid(s) != cases[i].ifname)
                        TEST_FAIL("ifname_is_valid('%s') != %d", s, cases[i].ifname);
                if (hostname_is_valid(s) != cases[i].hostname)
                        TEST_FAIL("hostname_is_valid('%s') != %d", s, cases[i].hostname);
                if (endpoint_is_valid(s) != cases[i].endpoint)
                        TEST_FAIL("endpoint_is_valid('%s') != %d", s, cases[i].endpoint);
                if (dns_entry_is_valid(s) != cases[i].dns)
                        TEST_FAIL("dns_entry_is_valid('%s') != %d", s, cases[i].dns);
                if (network_name_is_valid(s) != cases[i].network)
                        TEST_FAIL("network_name_is_valid('%s') != %d", s, cases[i].network);
        }
}

TEST(peer_names) {
        static const struct {
                const char *s;
                bool valid;
        } names[] = {
                { "phone", true },
                { "Anna's phone", true },
                { "téléphone", true },
                { "\xe2\x98\x83 snowman", true },
                { "", false },
                { " phone", false },
                { "phone ", false },
                { "tab\there", false },
                { "new\nline", false },
                { "\x7f", false },
                { "\xc2\x85", false },                  /* C1 control */
                { "\xc0\xaf", false },                  /* overlong */
                { "\xed\xa0\x80", false },              /* surrogate */
                { "\xff", false },
                { "\xe2\x98", false },                  /* truncated */
                { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true },   /* 64 */
                { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },  /* 65 */
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (peer_name_is_valid(names[i].s) != names[i].valid)
                        TEST_FAIL("peer_name_is_valid('%s') != %d", names[i].s, names[i].valid);
}

TEST(emails) {
        static const struct {
                const char *s;
                bool valid;
        } emails[] = {
                { "", true },
                { "anna@example.org", true },
                { "anna+vpn@b\xc3\xbcro.example", true },
                { "anna", false },
                { "anna @example.org", false },
                { "a@b,c@d", false },
                { "a@b\tc", false },
                { "a@b\nX-Injected: 1", false },
                { "a@b\x1b]0;title\x07", false },      /* a terminal's escape sequence */
                { "a@b\x7f", false },
                { "a@b\xc2\x9b" "31m", false },          /* C1 CSI */
        };
        char longest[256];
        for (size_t i = 0; i < ELEMENTSOF(emails); i++)
                if (email_is_valid(emails[i].s) != emails[i].valid)
                        TEST_FAIL("email_is_valid('%s') != %d", emails[i].s, emails[i].valid);
        memset(longest, 'a', 254);
        longest[0] = '@';
        longest[254] = '\0';
        ASSERT_TRUE(email_is_valid(longest));
        longest[254] = 'a';
        longest[255] = '\0';
        ASSERT_TRUE(!email_is_valid(longest));
}

TEST(config_file_unreadable) {
        /* A directory opens (fopen) but reads with EISDIR: an error, not an empty file. */
        char dir[] = "/tmp/wgnetd-confdir-XXXXXX";
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        ManagerConfig c = { .state_dir = strdup("/var/lib/wgnet"), .tick_usec = 5000000 };
        ASSERT_EQ(config_parse_file(dir, true, &c), -EISDIR);
        ASSERT_EQ(config_parse_file(dir, false, &c), -EISDIR);
        ASSERT_STREQ(c.state_dir, "/var/lib/wgnet");
        free(c.state_dir);
        rmdir(dir);
}

TEST(config_file) {
        char path[] = "/tmp/wgnetd-conf-XXXXXX";
        int fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        const char *text = "# comment\n[wgnetd]\nStateDirectory = /srv/wgnet\nTickSeconds=2.5\nBackend=userspace\n";
        ASSERT_EQ(write(fd, text, strlen(text)), (long long) strlen(text));
        close(fd);
        ManagerConfig c = { .state_dir = strdup("/var/lib/wgnet"), .tick_usec = 5000000 };
        ASSERT_OK(config_parse_file(path, true, &c));
        ASSERT_STREQ(c.state_dir, "/srv/wgnet");
        ASSERT_EQ(c.tick_usec, 2500000);
        ASSERT_EQ(c.backend, WG_BACKEND_USERSPACE);

        static const char *const bad[] = { "Bogus=1\n", "TickSeconds=0\n", "TickSeconds=abc\n", "Backend=magic\n",
                                           "StateDirectory=relative\n", "no equals sign\n",
                                           "Backend=kernel\nBackend=userspace\n", "UserspaceImplementation=\n",
                                           "TickSeconds=\n" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                FILE *f = fopen(path, "we");
                fputs(bad[i], f);
                fclose(f);
                if (config_parse_file(path, true, &c) >= 0)
                        TEST_FAIL("accepted '%s'", bad[i]);
        }
        /* a line too long is refused, not split into lines of which the tail could count */
        FILE *lf = fopen(path, "we");
        fputs("# ", lf);
        for (int i = 0; i < 5000; i++)
                fputc('x', lf);
        fputs("TickSeconds=1\n", lf);
        fclose(lf);
        ASSERT_ERR(config_parse_file(path, true, &c), EINVAL);
        ASSERT_OK(config_parse_file("/nonexistent/wgnetd.conf", false, &c));
        ASSERT_TRUE(config_parse_file("/nonexistent/wgnetd.conf", true, &c) < 0);
        unlink(path);
        free(c.state_dir);
        free(c.userspace_binary);
}

/* docs/install.md's example configuration file parses as it stands. */
TEST(config_file_of_the_docs) {
        const char *root = getenv("WGNET_SOURCE_ROOT");
        char doc[4096], line[512], path[] = "/tmp/wgnetd-doc-XXXXXX";
        if (!root)
                return;
        snprintf(doc, sizeof(doc), "%s/docs/install.md", root);
        FILE *in = fopen(doc, "re");
        ASSERT_TRUE(in != NULL);
        int fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        FILE *out = fdopen(fd, "w");
        bool in_block = false, seen = false;
        unsigned keys = 0;
        while (fgets(line, sizeof(line), in)) {
                if (!in_block && strncmp(line, "    # reconcile", 15) == 0)
                        in_block = seen = true;
                if (in_block && strncmp(line, "    ", 4) != 0)
                        in_block = false;
                if (in_block) {
                        fputs(line + 4, out);
                        keys += line[4] != '#';
                }
        }
        fclose(in);
        fclose(out);
        ASSERT_TRUE(seen);
        ASSERT_TRUE(keys >= 5);
        ManagerConfig c = { .state_dir = strdup("/var/lib/wgnet"), .tick_usec = 1 };
        ASSERT_OK(config_parse_file(path, true, &c));
        ASSERT_EQ(c.tick_usec, 5000000);
        unlink(path);
        free(c.state_dir);
        free(c.userspace_binary);
}

/* The listen port check: a port some socket holds, a free one, and one below 1024 without
 * CAP_NET_BIND_SERVICE (in a child that drops it, as wgnetd.service runs). */
TEST(udp_port_check) {
        int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
        socklen_t len = sizeof(sa);
        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        ASSERT_TRUE(getsockname(fd, (struct sockaddr *) &sa, &len) == 0);
        uint16_t port = ntohs(sa.sin6_port);
        ASSERT_EQ(udp_port_check(port), -EADDRINUSE);
        close(fd);
        ASSERT_EQ(udp_port_check(port), 0);

        if (geteuid() != 0)
                return;
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
                struct __user_cap_data_struct d[2];
                if (syscall(SYS_capget, &h, d) < 0)
                        _exit(2);
                d[CAP_NET_BIND_SERVICE / 32].effective &= ~(1u << (CAP_NET_BIND_SERVICE % 32));
                if (syscall(SYS_capset, &h, d) < 0)
                        _exit(2);
                _exit(udp_port_check(80) == -EACCES ? 0 : 1);
        }
        int status;
        ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
        ASSERT_TRUE(WIFEXITED(status));
        /* 1: this host lets everyone bind port 80 (net.ipv4.ip_unprivileged_port_start) */
        FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
        int start = 1024;
        if (f) {
                if (fscanf(f, "%d", &start) != 1)
                        start = 1024;
                fclose(f);
        }
        ASSERT_EQ(WEXITSTATUS(status), start > 80 ? 0 : 1);
}

/* Imported peers' names: n peers given these names (NULL: none), expected[] what they get. */
static void test_import_names_one(const char *const *given, size_t n, const char *const *expected) {
        WgConf *c = wgconf_new();
        char **names = NULL;

        ASSERT_TRUE(c);
        for (size_t i = 0; i < n; i++) {
                WgConfPeer *p = wgconf_add_peer(c);
                ASSERT_TRUE(p);
                if (given[i])
                        ASSERT_TRUE(p->name = strdup(given[i]));
        }
        ASSERT_OK(peer_import_names(c, &names));
        for (size_t i = 0; i < n; i++)
                ASSERT_STREQ(names[i], expected[i]);
        ASSERT_TRUE(names[n] == NULL);
        strv_free(names);
        wgconf_free(c);
}

#define NAMES(...) ((const char *const[]) { __VA_ARGS__ })
#define IMPORT_NAMES(g, e) test_import_names_one(NAMES g, ELEMENTSOF(NAMES g), NAMES e)

TEST(import_peer_names) {
        IMPORT_NAMES((NULL, "alice", NULL), ("peer1", "alice", "peer3"));
        /* a later peer claims "peer1"; an earlier one has "peer2" */
        IMPORT_NAMES((NULL, "peer1", NULL), ("peer1-2", "peer1", "peer3"));
        IMPORT_NAMES(("peer2", NULL), ("peer2", "peer2-2"));
        IMPORT_NAMES((NULL, "peer1-2", "peer1"), ("peer1-3", "peer1-2", "peer1"));
        /* a name given twice, and names that are no peer names */
        IMPORT_NAMES(("alice", "alice", "bad\x01", " padded", ""),
                     ("alice", "peer2", "peer3", "peer4", "peer5"));
        IMPORT_NAMES(("peer3", "peer3", NULL), ("peer3", "peer2", "peer3-2"));
}

/* 200,000 unnamed peers and one that claims "peer1" at the end: each generated name was
 * once checked against every later peer of the file (2e10 steps, about 11 s of CPU on the
 * development machine; now 0.1 s). */
TEST(import_peer_names_many) {
        const size_t n = 200000;
        WgConf *c = wgconf_new();
        char **names = NULL;

        ASSERT_TRUE(c);
        for (size_t i = 0; i < n; i++)
                ASSERT_TRUE(wgconf_add_peer(c));
        ASSERT_TRUE(c->peers[n - 1].name = strdup("peer1"));
        clock_t start = clock();
        ASSERT_OK(peer_import_names(c, &names));
        double cpu = (double) (clock() - start) / CLOCKS_PER_SEC;
        ASSERT_STREQ(names[0], "peer1-2");
        ASSERT_STREQ(names[n - 2], "peer199999");
        ASSERT_STREQ(names[n - 1], "peer1");
        /* linear: far below this even in a sanitizer build */
        if (cpu > 2)
                TEST_FAIL("naming %zu peers took %.1f s of CPU", n, cpu);
        strv_free(names);
        wgconf_free(c);
}

/* New site networks are checked against the site networks the network has, not against
 * every peer (which anyone could make wgnetd do before polkit: 4,096 site networks against
 * 100,000 peers walked 4e8 peers); a peer's change of its own is seen at the next check. */
TEST(site_networks_against_many_peers) {
        ManagerConfig mc = { .state_dir = (char *) "/nonexistent", .tick_usec = 1000000 };
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        Manager *m;
        Network *n;
        IpPrefix *got;
        size_t n_got;
        /* an AddPeers of 16 peers with 256 site networks each: the call's cap of 4,096 */
        const size_t peers = 100000, sites = 256, calls = 16;

        ASSERT_OK(manager_new(&mc, &m));
        ASSERT_OK(network_new(m, 1, "hub", "wg0", &n));
        ASSERT_OK(network_attach(n));
        ASSERT_OK(ip_prefix_parse("10.0.0.1/16", false, &n->subnets[0]));
        n->n_subnets = 1;
        Peer *gw = NULL;
        for (size_t i = 0; i < peers; i++) {
                char name[24];
                Peer *p;
                snprintf(name, sizeof(name), "p%zu", i);
                ASSERT_OK(peer_new(n, i + 1, name, &p));
                memcpy(p->public_key, &i, sizeof(i));
                if (i == peers / 2) {
                        p->site_networks = calloc(1, sizeof(IpPrefix));
                        ASSERT_OK(ip_prefix_parse("192.168.7.0/24", false, &p->site_networks[0]));
                        p->n_site_networks = 1;
                        gw = p;
                }
                network_link_peer(n, p);
        }
        char **l = calloc(sites + 1, sizeof(char *));
        for (size_t i = 0; i < sites; i++)
                ASSERT_TRUE(asprintf(&l[i], "172.16.%zu.0/24", i) > 0);
        clock_t start = clock();
        for (size_t round = 0; round < calls; round++) {
                ASSERT_OK(peer_check_site_networks(n, NULL, l, &got, &n_got, &e));
                ASSERT_EQ(n_got, sites);
                free(got);
        }
        double cpu = (double) (clock() - start) / CLOCKS_PER_SEC;
        if (cpu > 2)
                TEST_FAIL("%zu checks of %zu site networks against %zu peers took %.1f s of CPU", calls, sites, peers,
                          cpu);
        char *one[] = { (char *) "192.168.7.128/25", NULL };
        ASSERT_TRUE(peer_check_site_networks(n, NULL, one, &got, &n_got, &e) < 0);
        ASSERT_STREQ(e.name, "org.wgnet1.Error.AddressInUse");
        ASSERT_TRUE(strstr(e.message, "overlaps a site network of peer 'p50000'"));
        sd_bus_error_free(&e);
        ASSERT_OK(peer_check_site_networks(n, gw, one, &got, &n_got, &e));     /* its own */
        free(got);
        /* the gateway's network changes: the index follows */
        ASSERT_OK(ip_prefix_parse("192.168.8.0/24", false, &gw->site_networks[0]));
        network_forget_subnet_holes(n);
        ASSERT_OK(peer_check_site_networks(n, NULL, one, &got, &n_got, &e));
        free(got);
        strv_free(l);
        manager_free(m);
}

/* A bus error message cut at its 511 bytes ends between two characters: sd-bus refuses to
 * send one that is not UTF-8, and the caller would wait for a reply that never comes. */
TEST(bus_reply_errno_utf8) {
        /* a project error (its own name) and a plain errno (strerror added) */
        static const int errors[] = { -EEXIST, -EINVAL };
        char name[700] = "";

        for (size_t i = 0; i < 300; i++)
                strcat(name, "\xc3\xa9");       /* 'é': 600 bytes */
        for (size_t k = 0; k < ELEMENTSOF(errors); k++)
                /* an even and an odd number of bytes before the 'é's: one of them is cut */
                for (size_t odd = 0; odd < 2; odd++) {
                        sd_bus_error e = SD_BUS_ERROR_NULL;
                        ASSERT_TRUE(bus_reply_errno(&e, errors[k], "Peer %s'%s'", odd ? "x" : "", name) < 0);
                        ASSERT_TRUE(e.message);
                        ASSERT_TRUE(strlen(e.message) > 400);
                        ASSERT_TRUE(utf8_valid(e.message, strlen(e.message)));
                        sd_bus_error_free(&e);
                }
}

TEST_MAIN()
