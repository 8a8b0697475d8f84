/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ip_prefix_parse_n on arbitrary bytes: no crash, and whatever is accepted prints to a
 * string that parses back to the same prefix (bare and with a length). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const IpPrefix *p, bool bare) {
        char buf[IP_PREFIX_STRLEN];
        IpPrefix q;

        if (bare)
                ip_addr_to_string(p, buf);
        else
                ip_prefix_to_string(p, buf);
        if (strlen(buf) >= IP_PREFIX_STRLEN)
                abort();
        if (ip_prefix_parse(buf, bare, &q) < 0) {
                fprintf(stderr, "printed '%s' does not parse\n", buf);
                abort();
        }
        if (bare)
                q.prefixlen = p->prefixlen;
        if (!ip_prefix_equal(p, &q)) {
                fprintf(stderr, "printed '%s' parses to something else\n", buf);
                abort();
        }
        /* printing is canonical: a second round gives the same text */
        char again[IP_PREFIX_STRLEN];
        if (bare)
                ip_addr_to_string(&q, again);
        else
                ip_prefix_to_string(&q, again);
        if (strcmp(buf, again) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *s = (const char *) data;
        IpPrefix p;

        if (ip_prefix_parse_n(s, size, true, &p) >= 0) {
                if (p.family != AF_INET && p.family != AF_INET6)
                        abort();
                if (p.prefixlen > ip_family_bits(p.family))
                        abort();
                check_round_trip(&p, false);
                check_round_trip(&p, true);

                /* predicates agree with each other */
                IpPrefix m = p;
                ip_prefix_mask(&m);
                if (ip_prefix_has_host_bits(&m) || !ip_prefix_contains(&m, &p) ||
                    !ip_prefix_overlaps(&m, &p))
                        abort();
                if (ip_prefix_has_host_bits(&p) != !ip_prefix_equal(&m, &p))
                        abort();
        }

        /* the strict-length forms agree with the NUL-terminated ones */
        if (size < 256) {
                char buf[256];
                memcpy(buf, data, size);
                buf[size] = 0;
                IpPrefix q;
                int r1 = ip_prefix_parse_n(s, size, false, &p);
                int r2 = memchr(data, 0, size) ? -1 : ip_prefix_parse(buf, false, &q);
                if (r2 >= 0 && (r1 < 0 || !ip_prefix_equal(&p, &q)))
                        abort();
                if (r1 >= 0 && !memchr(data, 0, size) && r2 < 0)
                        abort();
        }
        return 0;
}
