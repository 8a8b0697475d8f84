/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Times AddrPool against a naive baseline (a sorted array of used host offsets, searched and
 * shifted linearly, as a "load all addresses, find the first gap" implementation would do).
 *
 * Workload for N peers in one subnet, as the daemon sees it: reserve N random addresses
 * (peers loaded from the database), allocate N (new peers, lowest free first, filling the
 * gaps), release N random used addresses (peers removed). The cost per operation is
 * printed for N = 1000 and N = 10000, and the ratio of the two: about 1 means the cost does
 * not grow with the number of used addresses, about 10 means it grows linearly.
 *
 * Usage: bench-addr-pool [ROUNDS-SCALE]   (default 1; larger repeats more for stabler
 * figures) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"

__extension__ typedef unsigned __int128 u128;

/* ---- naive baseline ---- */

typedef struct Naive {
        u128 base, last;
        u128 *used;            /* sorted, specials included */
        size_t n, cap;
} Naive;

static int naive_insert_at(Naive *nv, size_t i, u128 x) {
        if (nv->n == nv->cap) {
                size_t cap = nv->cap ? nv->cap * 2 : 64;
                u128 *u = realloc(nv->used, cap * sizeof(u128));
                if (!u)
                        return -ENOMEM;
                nv->used = u;
                nv->cap = cap;
        }
        memmove(nv->used + i + 1, nv->used + i, (nv->n - i) * sizeof(u128));
        nv->used[i] = x;
        nv->n++;
        return 0;
}

static int naive_reserve(Naive *nv, u128 x) {
        size_t i = 0;
        while (i < nv->n && nv->used[i] < x)
                i++;
        if (i < nv->n && nv->used[i] == x)
                return -EEXIST;
        return naive_insert_at(nv, i, x);
}

static int naive_release(Naive *nv, u128 x) {
        size_t i = 0;
        while (i < nv->n && nv->used[i] < x)
                i++;
        if (i == nv->n || nv->used[i] != x)
                return -ENOENT;
        memmove(nv->used + i, nv->used + i + 1, (nv->n - i - 1) * sizeof(u128));
        nv->n--;
        return 0;
}

static int naive_allocate(Naive *nv, u128 *ret) {
        /* offsets are unique and sorted: the first index whose offset is not the index */
        size_t i = 0;
        while (i < nv->n && nv->used[i] == (u128) i)
                i++;
        if ((u128) i > nv->last)
                return -ENOSPC;
        *ret = i;
        return naive_insert_at(nv, i, i);
}

/* ---- workload ---- */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd64(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static double now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static IpPrefix offset_to_prefix(const IpPrefix *subnet, u128 off) {
        IpPrefix p = *subnet;
        size_t n = subnet->family == AF_INET ? 4 : 16;
        ip_prefix_mask(&p);
        for (size_t i = n; i > 0; i--) {
                p.addr.bytes[i - 1] |= (uint8_t) off;
                off >>= 8;
        }
        p.prefixlen = (uint8_t) (n * 8);
        return p;
}

typedef struct Workload {
        IpPrefix *reserve;     /* N distinct addresses, none special */
        u128 *reserve_off;
        size_t *release_idx;   /* which used address to release: index into the used list */
        size_t n;
} Workload;

static void die(const char *what, int r) {
        fprintf(stderr, "%s: %s\n", what, strerror(-r));
        exit(1);
}

static void workload_make(const IpPrefix *subnet, size_t n, Workload *w) {
        AddrPool *check = NULL;
        int r = addr_pool_new(subnet, &check);
        if (r < 0)
                die("addr_pool_new", r);
        unsigned hostbits = (unsigned) ip_family_bits(subnet->family) - subnet->prefixlen;
        u128 mask = hostbits >= 64 ? UINT64_MAX : ((u128) 1 << hostbits) - 1;

        w->n = n;
        w->reserve = calloc(n, sizeof(IpPrefix));
        w->reserve_off = calloc(n, sizeof(u128));
        w->release_idx = calloc(n, sizeof(size_t));
        if (!w->reserve || !w->reserve_off || !w->release_idx)
                die("calloc", -ENOMEM);
        for (size_t i = 0; i < n;) {
                u128 off = (u128) rnd64() & mask;
                IpPrefix a = offset_to_prefix(subnet, off);
                if (addr_pool_reserve(check, &a) < 0)
                        continue;
                w->reserve[i] = a;
                w->reserve_off[i] = off;
                i++;
        }
        /* release N of the 2N used addresses, chosen at random at run time from the list
         * of those still used (swap-remove keeps it dense) */
        for (size_t i = 0; i < n; i++)
                w->release_idx[i] = (size_t) (rnd64() % (2 * n - i));
        addr_pool_free(check);
}

static void workload_free(Workload *w) {
        free(w->reserve);
        free(w->reserve_off);
        free(w->release_idx);
}

typedef struct Times {
        double alloc;   /* ns per allocation */
        double all;     /* ns per operation over the whole workload */
} Times;

/* One run of the workload on the pool. */
static Times run_pool(const IpPrefix *subnet, const Workload *w) {
        size_t n = w->n;
        IpPrefix *live = calloc(2 * n, sizeof(IpPrefix));
        AddrPool *p = NULL;
        int r;

        if (!live)
                die("calloc", -ENOMEM);
        r = addr_pool_new(subnet, &p);
        if (r < 0)
                die("addr_pool_new", r);

        double t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
                r = addr_pool_reserve(p, &w->reserve[i]);
                if (r < 0)
                        die("addr_pool_reserve", r);
                live[i] = w->reserve[i];
        }
        double ta = now_ns();
        for (size_t i = 0; i < n; i++) {
                r = addr_pool_allocate(p, &live[n + i]);
                if (r < 0)
                        die("addr_pool_allocate", r);
        }
        double tb = now_ns();
        size_t n_live = 2 * n;
        for (size_t i = 0; i < n; i++) {
                size_t k = w->release_idx[i];
                r = addr_pool_release(p, &live[k]);
                if (r < 0)
                        die("addr_pool_release", r);
                live[k] = live[--n_live];
        }
        double t1 = now_ns();

        addr_pool_free(p);
        free(live);
        return (Times) { (tb - ta) / (double) n, (t1 - t0) / (double) (3 * n) };
}

static Times run_naive(const IpPrefix *subnet, const Workload *w) {
        size_t n = w->n;
        u128 *live = calloc(2 * n, sizeof(u128));
        Naive nv = { 0 };
        int r;

        if (!live)
                die("calloc", -ENOMEM);
        unsigned hostbits = (unsigned) ip_family_bits(subnet->family) - subnet->prefixlen;
        nv.last = hostbits >= 128 ? ~(u128) 0 : ((u128) 1 << hostbits) - 1;
        /* the same specials as the pool: network, broadcast (IPv4), server */
        IpPrefix s = *subnet;
        ip_prefix_mask(&s);
        u128 server = 0;
        for (size_t i = 0; i < (subnet->family == AF_INET ? 4u : 16u); i++)
                server = server << 8 | (subnet->addr.bytes[i] ^ s.addr.bytes[i]);
        (void) naive_reserve(&nv, 0);
        if (subnet->family == AF_INET)
                (void) naive_reserve(&nv, nv.last);
        if (server)
                (void) naive_reserve(&nv, server);

        double t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
                r = naive_reserve(&nv, w->reserve_off[i]);
                if (r < 0)
                        die("naive_reserve", r);
                live[i] = w->reserve_off[i];
        }
        double ta = now_ns();
        for (size_t i = 0; i < n; i++) {
                r = naive_allocate(&nv, &live[n + i]);
                if (r < 0)
                        die("naive_allocate", r);
        }
        double tb = now_ns();
        size_t n_live = 2 * n;
        for (size_t i = 0; i < n; i++) {
                size_t k = w->release_idx[i];
                r = naive_release(&nv, live[k]);
                if (r < 0)
                        die("naive_release", r);
                live[k] = live[--n_live];
        }
        double t1 = now_ns();

        free(nv.used);
        free(live);
        return (Times) { (tb - ta) / (double) n, (t1 - t0) / (double) (3 * n) };
}

/* Best of several runs, as the least disturbed by the other processes of the machine. */
static Times best_of(Times (*fn)(const IpPrefix *, const Workload *), const IpPrefix *subnet,
                     const Workload *w, unsigned runs) {
        Times best = { 0 };
        for (unsigned i = 0; i < runs; i++) {
                Times t = fn(subnet, w);
                if (i == 0 || t.alloc < best.alloc)
                        best.alloc = t.alloc;
                if (i == 0 || t.all < best.all)
                        best.all = t.all;
        }
        return best;
}

int main(int argc, char **argv) {
        static const char *const subnets[] = { "10.20.0.1/16", "fd00:20::1/64" };
        static const size_t sizes[] = { 1000, 10000 };
        unsigned scale = argc > 1 ? (unsigned) atoi(argv[1]) : 1;
        if (scale == 0)
                scale = 1;

        printf("Workload: reserve N random addresses, allocate N (lowest free), release N random.\n");
        printf("alloc = ns per allocation; all = ns per operation over the workload; best of runs.\n\n");
        printf("%-14s %6s %11s %11s %11s %11s %9s\n", "subnet", "N", "pool alloc", "naive alloc",
               "pool all", "naive all", "naive/pool");
        for (size_t s = 0; s < 2; s++) {
                IpPrefix subnet;
                if (ip_prefix_parse(subnets[s], false, &subnet) < 0)
                        die(subnets[s], -EINVAL);
                Times pt[2], nt[2];
                for (size_t k = 0; k < 2; k++) {
                        Workload w;
                        workload_make(&subnet, sizes[k], &w);
                        pt[k] = best_of(run_pool, &subnet, &w, scale * (k == 0 ? 50 : 10));
                        nt[k] = best_of(run_naive, &subnet, &w, scale * (k == 0 ? 10 : 3));
                        workload_free(&w);
                        printf("%-14s %6zu %11.1f %11.1f %11.1f %11.1f %9.1f\n", subnets[s], sizes[k],
                               pt[k].alloc, nt[k].alloc, pt[k].all, nt[k].all, nt[k].alloc / pt[k].alloc);
                }
                printf("%-14s %6s %11.2f %11.2f %11.2f %11.2f   <- cost at 10k / cost at 1k\n",
                       subnets[s], "ratio", pt[1].alloc / pt[0].alloc, nt[1].alloc / nt[0].alloc,
                       pt[1].all / pt[0].all, nt[1].all / nt[0].all);
        }
        return 0;
}
