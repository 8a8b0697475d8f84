/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdarg.h>

#include "firewall.h"
#include "macro.h"

typedef struct Buf {
        char *s;
        size_t len, size;
        int error;
} Buf;

static void buf_printf(Buf *b, const char *fmt, ...) _printf_(2, 3);
static void buf_printf(Buf *b, const char *fmt, ...) {
        va_list ap;
        if (b->error)
                return;
        for (;;) {
                va_start(ap, fmt);
                int k = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->size - b->len : 0, fmt, ap);
                va_end(ap);
                if (k < 0) {
                        b->error = -EINVAL;
                        return;
                }
                if (b->s && b->len + (size_t) k < b->size) {
                        b->len += (size_t) k;
                        return;
                }
                size_t size = MAX(b->size * 2, b->len + (size_t) k + 256);
                char *ns = realloc(b->s, size);
                if (!ns) {
                        b->error = -ENOMEM;
                        return;
                }
                b->s = ns;
                b->size = size;
        }
}

static bool plain_ifname(const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > 15)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.-", *s))
                        return false;
        return true;
}

int firewall_ruleset(const FirewallNetwork *nets, size_t n, char **ret) {
        Buf b = { 0 };

        for (size_t i = 0; i < n; i++)
                if (!plain_ifname(nets[i].ifname) || (!isempty(nets[i].nat_ifname) && !plain_ifname(nets[i].nat_ifname)))
                        return -EINVAL;

        /* "add" makes the "delete" safe when the table does not exist yet. */
        buf_printf(&b, "add table inet " FIREWALL_TABLE "\ndelete table inet " FIREWALL_TABLE "\n");
        if (n > 0) {
                /* The drops first, also for flows conntrack knows already: isolation switched
                 * on, or a new network, cuts them at once (a flow accepted as established
                 * kept passing). Each drop is symmetric (the other side has its own), so no
                 * reply that should pass is lost; an isolated hub drops its clients' side
                 * of the flows they opened, and still passes their replies to flows that a
                 * host behind the server opened. */
                buf_printf(&b, "table inet " FIREWALL_TABLE " {\n"
                               "\tchain forward {\n"
                               "\t\ttype filter hook forward priority filter; policy accept;\n");
                for (size_t i = 0; i < n; i++) {
                        const char *ifn = nets[i].ifname;
                        /* A peer may widen its own AllowedIPs: nothing it sends reaches another
                         * network's interface, nor anything at all from an isolated hub, whose
                         * clients reach only the server. */
                        if (nets[i].isolation)
                                buf_printf(&b, "\t\tiifname \"%s\" oifname \"%s\" drop comment \"peer isolation\"\n",
                                           ifn, ifn);
                        /* An isolated hub's clients answer what hosts behind the server
                         * opened, and start nothing: what conntrack cannot place (invalid,
                         * untracked) is not an answer either. */
                        if (nets[i].isolation && nets[i].hub)
                                buf_printf(&b, "\t\tiifname \"%s\" ct state invalid,untracked drop comment "
                                               "\"peer isolation (hub: only the server)\"\n"
                                               "\t\tiifname \"%s\" ct direction original drop comment "
                                               "\"peer isolation (hub: only the server)\"\n", ifn, ifn);
                        if (n > 1) {
                                buf_printf(&b, "\t\tiifname \"%s\" oifname { ", ifn);
                                for (size_t k = 0, c = 0; k < n; k++)
                                        if (k != i)
                                                buf_printf(&b, "%s\"%s\"", c++ ? ", " : "", nets[k].ifname);
                                buf_printf(&b, " } drop comment \"between networks\"\n");
                        }
                }
                buf_printf(&b, "\t\tct state established,related accept\n");
                for (size_t i = 0; i < n; i++)
                        buf_printf(&b, "\t\tiifname \"%s\" accept\n", nets[i].ifname);
                buf_printf(&b, "\t}\n");

                bool any_nat = false;
                for (size_t i = 0; i < n; i++)
                        any_nat = any_nat || (!isempty(nets[i].nat_ifname) && nets[i].n_subnets > 0);
                if (any_nat) {
                        buf_printf(&b, "\tchain postrouting {\n"
                                       "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
                        for (size_t i = 0; i < n; i++) {
                                if (isempty(nets[i].nat_ifname))
                                        continue;
                                for (size_t k = 0; k < nets[i].n_subnets; k++) {
                                        IpPrefix net = nets[i].subnets[k];
                                        char buf[IP_PREFIX_STRLEN];
                                        ip_prefix_mask(&net);
                                        buf_printf(&b, "\t\t%s saddr %s oifname \"%s\" masquerade\n",
                                                   net.family == AF_INET ? "ip" : "ip6",
                                                   ip_prefix_to_string(&net, buf), nets[i].nat_ifname);
                                }
                        }
                        buf_printf(&b, "\t}\n");
                }
                bool any_full = false;
                for (size_t i = 0; i < n; i++)
                        any_full = any_full || nets[i].full_tunnel_mark != 0;
                if (any_full) {
                        buf_printf(&b, "\tchain full-tunnel-preraw {\n"
                                       "\t\ttype filter hook prerouting priority raw; policy accept;\n");
                        for (size_t i = 0; i < n; i++)
                                for (size_t k = 0; nets[i].full_tunnel_mark && k < nets[i].n_subnets; k++) {
                                        char buf[IP_PREFIX_STRLEN];
                                        buf_printf(&b, "\t\tiifname != \"%s\" %s daddr %s fib saddr type != local drop\n",
                                                   nets[i].ifname, nets[i].subnets[k].family == AF_INET ? "ip" : "ip6",
                                                   ip_addr_to_string(&nets[i].subnets[k], buf));
                                }
                        buf_printf(&b, "\t}\n"
                                       "\tchain full-tunnel-premangle {\n"
                                       "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
                                       "\t\tmeta l4proto udp meta mark set ct mark\n"
                                       "\t}\n"
                                       "\tchain full-tunnel-postmangle {\n"
                                       "\t\ttype filter hook postrouting priority mangle; policy accept;\n");
                        for (size_t i = 0; i < n; i++)
                                if (nets[i].full_tunnel_mark)
                                        buf_printf(&b, "\t\tmeta l4proto udp meta mark %u ct mark set meta mark\n",
                                                   (unsigned) nets[i].full_tunnel_mark);
                        buf_printf(&b, "\t}\n");
                }
                buf_printf(&b, "}\n");
        }
        if (b.error) {
                free(b.s);
                return b.error;
        }
        *ret = b.s;
        return 0;
}
