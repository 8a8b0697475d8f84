/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small driver of the backend for the rigs and the benchmark:
 *
 *   backend-ctl [-t auto|kernel|userspace] create IFNAME
 *   backend-ctl [-t …] delete IFNAME
 *   backend-ctl [-t …] exists IFNAME          exit 0 if it exists, 1 if not
 *   backend-ctl [-t …] list
 *   backend-ctl [-t …] churn IFNAME N         N single-peer adds and N removes, interleaved
 *                                             (at most 10 churn peers at a time)
 *   backend-ctl [-t …] count IFNAME           number of peers
 *
 * Errors are printed as "backend-ctl: VERB IFNAME: strerror" and exit 1. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "keys.h"
#include "macro.h"

static int set_one(WgBackend *b, const char *ifname, const uint8_t key[WG_KEY_LEN], unsigned i, bool remove) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        int r = wg_device_new(ifname, &d);
        if (r < 0)
                return r;
        WgPeer *p = wg_device_add_peer(d, key);
        if (!p)
                return -ENOMEM;
        if (remove)
                p->flags = WGPEER_REMOVE_ME;
        else {
                IpPrefix a = { .family = AF_INET, .prefixlen = 32 };
                a.addr.bytes[0] = 10;
                a.addr.bytes[1] = 250;
                a.addr.bytes[2] = (uint8_t) (i >> 8);
                a.addr.bytes[3] = (uint8_t) i;
                p->flags = WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PERSISTENT_KEEPALIVE;
                r = wg_peer_add_allowed_ip(p, &a);
                if (r < 0)
                        return r;
        }
        return wg_backend_set_device(b, d);
}

static int churn(WgBackend *b, const char *ifname, unsigned n) {
        uint8_t keys[10][WG_KEY_LEN], priv[WG_KEY_LEN];
        int r;

        for (unsigned i = 0; i < n + 10; i++) {
                if (i >= 10) {
                        r = set_one(b, ifname, keys[i % 10], i - 10, true);
                        if (r < 0)
                                return r;
                }
                if (i < n) {
                        r = wg_key_generate_private(priv);
                        if (r < 0)
                                return r;
                        r = wg_key_public_from_private(keys[i % 10], priv);
                        if (r < 0)
                                return r;
                        r = set_one(b, ifname, keys[i % 10], i, false);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_(wg_backend_freep) WgBackend *b = NULL;
        WgBackendType type = WG_BACKEND_USERSPACE;
        const char *verb, *ifname = NULL;
        int c, r;

        while ((c = getopt(argc, argv, "t:")) >= 0) {
                if (c != 't')
                        return 2;
                r = wg_backend_type_from_string(optarg);
                if (r < 0) {
                        fprintf(stderr, "backend-ctl: unknown backend type '%s'\n", optarg);
                        return 2;
                }
                type = (WgBackendType) r;
        }
        if (optind >= argc) {
                fprintf(stderr, "usage: backend-ctl [-t TYPE] create|delete|exists|list|churn|count [IFNAME] [N]\n");
                return 2;
        }
        verb = argv[optind];
        if (!streq(verb, "list")) {
                if (optind + 1 >= argc) {
                        fprintf(stderr, "backend-ctl: %s needs an interface name\n", verb);
                        return 2;
                }
                ifname = argv[optind + 1];
        }

        r = wg_crypto_init();
        if (r >= 0)
                r = wg_backend_new(type, NULL, &b);
        if (r < 0) {
                fprintf(stderr, "backend-ctl: cannot set up the backend: %s\n", strerror(-r));
                return 1;
        }

        if (streq(verb, "create"))
                r = wg_backend_create(b, ifname);
        else if (streq(verb, "delete"))
                r = wg_backend_delete(b, ifname);
        else if (streq(verb, "exists"))
                return wg_backend_exists(b, ifname) ? 0 : 1;
        else if (streq(verb, "list")) {
                _cleanup_(strv_freep) char **l = NULL;
                r = wg_backend_list(b, &l);
                for (char **i = l; r >= 0 && *i; i++)
                        printf("%s\n", *i);
        } else if (streq(verb, "count")) {
                _cleanup_(wg_device_freep) WgDevice *d = NULL;
                r = wg_backend_get_device(b, ifname, &d);
                if (r >= 0)
                        printf("%zu\n", d->n_peers);
        } else if (streq(verb, "churn")) {
                if (optind + 2 >= argc) {
                        fprintf(stderr, "backend-ctl: churn needs a count\n");
                        return 2;
                }
                r = churn(b, ifname, (unsigned) strtoul(argv[optind + 2], NULL, 10));
        } else {
                fprintf(stderr, "backend-ctl: unknown verb '%s'\n", verb);
                return 2;
        }
        if (r < 0) {
                fprintf(stderr, "backend-ctl: %s%s%s: %s\n", verb, ifname ? " " : "", ifname ? ifname : "", strerror(-r));
                return 1;
        }
        return 0;
}
