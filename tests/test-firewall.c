/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "firewall.h"
#include "macro.h"
#include "test.h"

TEST(no_networks_removes_the_table) {
        char *s = NULL;
        ASSERT_OK(firewall_ruleset(NULL, 0, &s));
        ASSERT_STREQ(s, "add table inet wgnet\ndelete table inet wgnet\n");
        free(s);
}

TEST(hub_with_isolation_and_nat) {
        IpPrefix subnets[2];
        char *s = NULL;
        ASSERT_OK(ip_prefix_parse("10.8.0.1/24", false, &subnets[0]));
        ASSERT_OK(ip_prefix_parse("fd00:8::1/64", false, &subnets[1]));
        FirewallNetwork nets[] = {
                { .ifname = "wg0", .isolation = true, .nat_ifname = "eth0", .subnets = subnets, .n_subnets = 2 },
                { .ifname = "wg1", .subnets = subnets, .n_subnets = 1 },
        };
        ASSERT_OK(firewall_ruleset(nets, 2, &s));
        ASSERT_STREQ(s,
                     "add table inet wgnet\n"
                     "delete table inet wgnet\n"
                     "table inet wgnet {\n"
                     "\tchain forward {\n"
                     "\t\ttype filter hook forward priority filter; policy accept;\n"
                     "\t\tiifname \"wg0\" oifname \"wg0\" drop comment \"peer isolation\"\n"
                     "\t\tiifname \"wg0\" oifname { \"wg1\" } drop comment \"between networks\"\n"
                     "\t\tiifname \"wg1\" oifname { \"wg0\" } drop comment \"between networks\"\n"
                     "\t\tct state established,related accept\n"
                     "\t\tiifname \"wg0\" accept\n"
                     "\t\tiifname \"wg1\" accept\n"
                     "\t}\n"
                     "\tchain postrouting {\n"
                     "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                     "\t\tip saddr 10.8.0.0/24 oifname \"eth0\" masquerade\n"
                     "\t\tip6 saddr fd00:8::/64 oifname \"eth0\" masquerade\n"
                     "\t}\n"
                     "}\n");
        free(s);
}

/* An isolated hub forwards nothing its clients start (they reach only the server) and
 * passes their replies; other networks reach no other network; the drops come before the
 * established flows are accepted (a change cuts those too). */
TEST(hub_and_networks_are_apart) {
        IpPrefix subnet;
        char *s = NULL;
        ASSERT_OK(ip_prefix_parse("10.8.0.1/24", false, &subnet));
        FirewallNetwork nets[] = {
                { .ifname = "wga", .hub = true, .isolation = true, .subnets = &subnet, .n_subnets = 1 },
                { .ifname = "wgb", .subnets = &subnet, .n_subnets = 1 },
                { .ifname = "wgc", .hub = true, .subnets = &subnet, .n_subnets = 1 },
        };
        ASSERT_OK(firewall_ruleset(nets, 3, &s));
        ASSERT_TRUE(strstr(s, "policy accept;\n"
                              "\t\tiifname \"wga\" oifname \"wga\" drop comment \"peer isolation\"\n"
                              "\t\tiifname \"wga\" ct state invalid,untracked drop comment \"peer isolation (hub: only the server)\"\n"
                              "\t\tiifname \"wga\" ct direction original drop comment \"peer isolation (hub: only the server)\"\n"
                              "\t\tiifname \"wga\" oifname { \"wgb\", \"wgc\" } drop comment \"between networks\"\n"
                              "\t\tiifname \"wgb\" oifname { \"wga\", \"wgc\" } drop comment \"between networks\"\n"
                              "\t\tiifname \"wgc\" oifname { \"wga\", \"wgb\" } drop comment \"between networks\"\n"
                              "\t\tct state established,related accept\n"
                              "\t\tiifname \"wga\" accept\n"));
        free(s);
}

/* A full-tunnel client: replies to the tunnel's UDP get its mark back from conntrack (a
 * strict rp_filter checks them as the tunnel's packets left), and its addresses are not
 * reachable from other interfaces, as wg-quick makes it. */
TEST(full_tunnel_client) {
        IpPrefix subnets[2];
        char *s = NULL;
        ASSERT_OK(ip_prefix_parse("10.66.0.2/32", false, &subnets[0]));
        ASSERT_OK(ip_prefix_parse("fd66::2/128", false, &subnets[1]));
        FirewallNetwork nets[] = {
                { .ifname = "vpn", .subnets = subnets, .n_subnets = 2, .full_tunnel_mark = 51820 },
        };
        ASSERT_OK(firewall_ruleset(nets, 1, &s));
        ASSERT_TRUE(strstr(s, "\tchain full-tunnel-preraw {\n"
                              "\t\ttype filter hook prerouting priority raw; policy accept;\n"
                              "\t\tiifname != \"vpn\" ip daddr 10.66.0.2 fib saddr type != local drop\n"
                              "\t\tiifname != \"vpn\" ip6 daddr fd66::2 fib saddr type != local drop\n"
                              "\t}\n"
                              "\tchain full-tunnel-premangle {\n"
                              "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
                              "\t\tmeta l4proto udp meta mark set ct mark\n"
                              "\t}\n"
                              "\tchain full-tunnel-postmangle {\n"
                              "\t\ttype filter hook postrouting priority mangle; policy accept;\n"
                              "\t\tmeta l4proto udp meta mark 51820 ct mark set meta mark\n"
                              "\t}\n}\n"));
        free(s);
        nets[0].full_tunnel_mark = 0;
        ASSERT_OK(firewall_ruleset(nets, 1, &s));
        ASSERT_TRUE(!strstr(s, "full-tunnel"));
        free(s);
}

TEST(bad_interface_names) {
        static const char *const bad[] = { "", "wg\"0", "wg 0", "a;b", "waytoolonginterface", "wg0\n" };
        char *s = NULL;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                FirewallNetwork n = { .ifname = bad[i] };
                ASSERT_ERR(firewall_ruleset(&n, 1, &s), EINVAL);
                FirewallNetwork m = { .ifname = "wg0", .nat_ifname = bad[i] };
                if (bad[i][0])
                        ASSERT_ERR(firewall_ruleset(&m, 1, &s), EINVAL);
        }
        ASSERT_TRUE(s == NULL);
}

TEST_MAIN()
