/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Address allocation inside one subnet.
 *
 * Addresses are handled as host offsets inside the subnet (0 .. 2^hostbits - 1, 128-bit).
 * The taken offsets (used addresses and the reserved specials) are kept as an AVL tree of
 * disjoint, non-adjacent ranges [lo, hi] keyed by lo. Because the ranges are merged, the
 * lowest free offset is 0 if the first range does not start at 0, else the end of the
 * first range plus one: allocation, reservation and release each cost O(log n) in the
 * number of ranges, which is at most the number of used addresses. */
#include <sys/socket.h>

#include "addr.h"
#include "macro.h"

__extension__ typedef unsigned __int128 u128;

typedef struct Range {
        u128 lo, hi;
        struct Range *left, *right;
        int height;
} Range;

struct AddrPool {
        IpPrefix subnet;      /* as given, server address as host bits */
        u128 base;            /* network address */
        u128 last;            /* highest host offset */
        u128 specials[3];     /* taken offsets that are not "used" */
        size_t n_specials;
        size_t n_used;
        Range *root;
};

/* ---- AVL tree of ranges ---- */

static int height(const Range *r) {
        return r ? r->height : 0;
}

static void update(Range *r) {
        r->height = 1 + MAX(height(r->left), height(r->right));
}

static Range *rotate_right(Range *r) {
        Range *l = r->left;
        r->left = l->right;
        l->right = r;
        update(r);
        update(l);
        return l;
}

static Range *rotate_left(Range *r) {
        Range *n = r->right;
        r->right = n->left;
        n->left = r;
        update(r);
        update(n);
        return n;
}

static Range *rebalance(Range *r) {
        update(r);
        int b = height(r->left) - height(r->right);
        if (b > 1) {
                if (height(r->left->left) < height(r->left->right))
                        r->left = rotate_left(r->left);
                return rotate_right(r);
        }
        if (b < -1) {
                if (height(r->right->right) < height(r->right->left))
                        r->right = rotate_right(r->right);
                return rotate_left(r);
        }
        return r;
}

static Range *tree_insert(Range *t, Range *n) {
        if (!t)
                return n;
        if (n->lo < t->lo)
                t->left = tree_insert(t->left, n);
        else
                t->right = tree_insert(t->right, n);
        return rebalance(t);
}

/* Unlinks the minimum of t into *ret_min. */
static Range *tree_take_min(Range *t, Range **ret_min) {
        if (!t->left) {
                *ret_min = t;
                return t->right;
        }
        t->left = tree_take_min(t->left, ret_min);
        return rebalance(t);
}

/* Removes and frees the node with key lo, which must exist. */
static Range *tree_delete(Range *t, u128 lo) {
        if (lo < t->lo)
                t->left = tree_delete(t->left, lo);
        else if (lo > t->lo)
                t->right = tree_delete(t->right, lo);
        else {
                Range *l = t->left, *r = t->right;
                free(t);
                if (!r)
                        return l;
                Range *m;
                r = tree_take_min(r, &m);
                m->left = l;
                m->right = r;
                return rebalance(m);
        }
        return rebalance(t);
}

static void tree_free(Range *t) {
        while (t) {
                tree_free(t->left);
                Range *r = t->right;
                free(t);
                t = r;
        }
}

/* The range with the largest lo <= x, and the one with the smallest lo > x. */
static void tree_neighbours(Range *t, u128 x, Range **ret_pred, Range **ret_succ) {
        Range *pred = NULL, *succ = NULL;
        while (t) {
                if (t->lo <= x) {
                        pred = t;
                        t = t->right;
                } else {
                        succ = t;
                        t = t->left;
                }
        }
        *ret_pred = pred;
        *ret_succ = succ;
}

static Range *range_new(u128 lo, u128 hi) {
        Range *r = calloc(1, sizeof(Range));
        if (!r)
                return NULL;
        r->lo = lo;
        r->hi = hi;
        r->height = 1;
        return r;
}

/* ---- offsets ---- */

static unsigned host_bits(const IpPrefix *subnet) {
        return (unsigned) ip_family_bits(subnet->family) - subnet->prefixlen;
}

static u128 addr_to_u128(const IpPrefix *p) {
        u128 v = 0;
        size_t n = p->family == AF_INET ? 4 : 16;
        for (size_t i = 0; i < n; i++)
                v = v << 8 | p->addr.bytes[i];
        return v;
}

static u128 host_mask(unsigned bits) {
        if (bits >= 128)
                return ~(u128) 0;
        return ((u128) 1 << bits) - 1;
}

static bool taken(const AddrPool *p, u128 x) {
        Range *pred, *succ;
        tree_neighbours(p->root, x, &pred, &succ);
        return pred && x <= pred->hi;
}

static bool is_special(const AddrPool *p, u128 x) {
        for (size_t i = 0; i < p->n_specials; i++)
                if (p->specials[i] == x)
                        return true;
        return false;
}

/* Marks x taken. -EEXIST if it already is. */
static int take(AddrPool *p, u128 x) {
        Range *pred, *succ;

        tree_neighbours(p->root, x, &pred, &succ);
        if (pred && x <= pred->hi)
                return -EEXIST;

        bool joins_pred = pred && pred->hi + 1 == x;
        bool joins_succ = succ && succ->lo - 1 == x;

        if (joins_pred && joins_succ) {
                pred->hi = succ->hi;
                p->root = tree_delete(p->root, succ->lo);
        } else if (joins_pred)
                pred->hi = x;
        else if (joins_succ)
                succ->lo = x;     /* still above pred->hi: the order holds */
        else {
                Range *n = range_new(x, x);
                if (!n)
                        return -ENOMEM;
                p->root = tree_insert(p->root, n);
        }
        return 0;
}

/* Marks x free. -ENOENT if it was not taken. */
static int untake(AddrPool *p, u128 x) {
        Range *pred, *succ;

        tree_neighbours(p->root, x, &pred, &succ);
        if (!pred || x > pred->hi)
                return -ENOENT;

        if (pred->lo == x && pred->hi == x)
                p->root = tree_delete(p->root, x);
        else if (pred->lo == x)
                pred->lo = x + 1;
        else if (pred->hi == x)
                pred->hi = x - 1;
        else {
                Range *n = range_new(x + 1, pred->hi);
                if (!n)
                        return -ENOMEM;
                pred->hi = x - 1;
                p->root = tree_insert(p->root, n);
        }
        return 0;
}

typedef struct Hole {
        u128 lo, hi;
} Hole;

static int hole_compare(const void *a, const void *b) {
        const Hole *x = a, *y = b;
        return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The lowest free offset outside the holes (prefixes inside the subnet; others are
 * ignored; none: the lowest free offset). The holes are sorted once; each step then jumps
 * past a taken range or the next hole, so the work is the ranges and holes in the way
 * (a scan of every hole at each step was quadratic: 8,000 holes took 0.6 s). */
static int lowest_free_outside(const AddrPool *p, const IpPrefix *holes, size_t n_holes, u128 *ret) {
        _cleanup_(freep) Hole *h = NULL;
        size_t n = 0, j = 0;
        u128 y = 0;

        if (n_holes > 0) {
                h = calloc(n_holes, sizeof(Hole));
                if (!h)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n_holes; i++) {
                const IpPrefix *x = &holes[i];
                if (x->family != p->subnet.family || x->prefixlen < p->subnet.prefixlen ||
                    !ip_prefix_contains(&p->subnet, x))
                        continue;
                h[n].lo = addr_to_u128(x) & p->last & ~host_mask(host_bits(x));
                h[n].hi = h[n].lo | host_mask(host_bits(x));
                n++;
        }
        if (n > 1)
                qsort(h, n, sizeof(Hole), hole_compare);
        for (;;) {
                bool moved = false;
                Range *pred, *succ;
                tree_neighbours(p->root, y, &pred, &succ);
                if (pred && y <= pred->hi) {
                        if (pred->hi == p->last)
                                return -ENOSPC;
                        y = pred->hi + 1;
                        moved = true;
                }
                while (j < n && h[j].hi < y)
                        j++;
                if (j < n && h[j].lo <= y) {
                        if (h[j].hi == p->last)
                                return -ENOSPC;
                        y = h[j].hi + 1;
                        moved = true;
                }
                if (!moved) {
                        *ret = y;
                        return 0;
                }
        }
}

static IpPrefix offset_to_prefix(const AddrPool *p, u128 off) {
        IpPrefix r = { .family = p->subnet.family };
        u128 v = p->base | off;
        size_t n = p->subnet.family == AF_INET ? 4 : 16;
        for (size_t i = n; i > 0; i--) {
                r.addr.bytes[i - 1] = (uint8_t) v;
                v >>= 8;
        }
        r.prefixlen = (uint8_t) (n * 8);
        return r;
}

/* The host offset of addr: -EINVAL if not a host prefix, -ERANGE if outside. */
static int prefix_to_offset(const AddrPool *p, const IpPrefix *addr, u128 *ret) {
        if (!addr)
                return -EINVAL;
        if (addr->family != p->subnet.family)
                return -ERANGE;
        if (addr->prefixlen != ip_family_bits(addr->family))
                return -EINVAL;
        if (!ip_prefix_contains(&p->subnet, addr))
                return -ERANGE;
        *ret = addr_to_u128(addr) & p->last;
        return 0;
}

/* ---- API ---- */

int addr_pool_new(const IpPrefix *subnet, AddrPool **ret) {
        _cleanup_(addr_pool_freep) AddrPool *p = NULL;

        if (!subnet || !ret)
                return -EINVAL;
        if ((subnet->family != AF_INET && subnet->family != AF_INET6) || subnet->prefixlen > ip_family_bits(subnet->family))
                return -EINVAL;

        p = calloc(1, sizeof(AddrPool));
        if (!p)
                return -ENOMEM;
        p->subnet = *subnet;
        unsigned hb = host_bits(subnet);
        p->last = host_mask(hb);
        u128 a = addr_to_u128(subnet);
        u128 server = a & p->last;
        p->base = a & ~p->last;
        if (subnet->family == AF_INET)
                p->base &= 0xffffffffu;

        if (subnet->family == AF_INET && hb >= 2) {
                p->specials[p->n_specials++] = 0;
                p->specials[p->n_specials++] = p->last;
        } else if (subnet->family == AF_INET6 && hb >= 2)
                p->specials[p->n_specials++] = 0;
        /* The server's own address (all-zero host bits: none given, except in a /31 or
         * /127, where the first address is a host's too: RFC 3021, RFC 6164). A /32 or
         * /128 is a host's own address (a client-side config): nothing is left to give out. */
        if ((server != 0 || hb <= 1) && !is_special(p, server))
                p->specials[p->n_specials++] = server;

        for (size_t i = 0; i < p->n_specials; i++) {
                int r = take(p, p->specials[i]);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(p);
        return 0;
}

AddrPool *addr_pool_free(AddrPool *p) {
        if (!p)
                return NULL;
        tree_free(p->root);
        free(p);
        return NULL;
}

const IpPrefix *addr_pool_subnet(const AddrPool *p) {
        return &p->subnet;
}

int addr_pool_reserve(AddrPool *p, const IpPrefix *addr) {
        u128 x;
        int r = prefix_to_offset(p, addr, &x);
        if (r < 0)
                return r;
        if (is_special(p, x))
                return -EADDRNOTAVAIL;
        r = take(p, x);
        if (r < 0)
                return r;
        p->n_used++;
        return 0;
}

int addr_pool_release(AddrPool *p, const IpPrefix *addr) {
        u128 x;
        int r = prefix_to_offset(p, addr, &x);
        if (r < 0)
                return r;
        if (is_special(p, x))
                return -ENOENT;
        r = untake(p, x);
        if (r < 0)
                return r;
        p->n_used--;
        return 0;
}

int addr_pool_peek(const AddrPool *p, IpPrefix *ret) {
        return addr_pool_peek_outside(p, NULL, 0, ret);
}

int addr_pool_allocate(AddrPool *p, IpPrefix *ret) {
        return addr_pool_allocate_outside(p, NULL, 0, ret);
}

int addr_pool_peek_outside(const AddrPool *p, const IpPrefix *holes, size_t n_holes, IpPrefix *ret) {
        u128 x;
        int r = lowest_free_outside(p, holes, n_holes, &x);
        if (r < 0)
                return r;
        *ret = offset_to_prefix(p, x);
        return 0;
}

int addr_pool_allocate_outside(AddrPool *p, const IpPrefix *holes, size_t n_holes, IpPrefix *ret) {
        u128 x;
        int r = lowest_free_outside(p, holes, n_holes, &x);
        if (r < 0)
                return r;
        r = take(p, x);
        if (r < 0)
                return r;
        p->n_used++;
        *ret = offset_to_prefix(p, x);
        return 0;
}

bool addr_pool_is_used(const AddrPool *p, const IpPrefix *addr) {
        u128 x;
        if (prefix_to_offset(p, addr, &x) < 0)
                return false;
        return !is_special(p, x) && taken(p, x);
}

size_t addr_pool_n_used(const AddrPool *p) {
        return p->n_used;
}
