/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend-internal.h"
#include "macro.h"

static const char *const backend_type_table[_WG_BACKEND_TYPE_MAX] = {
        [WG_BACKEND_AUTO] = "auto",
        [WG_BACKEND_KERNEL] = "kernel",
        [WG_BACKEND_USERSPACE] = "userspace",
};

const char *wg_backend_type_to_string(WgBackendType t) {
        if ((unsigned) t >= _WG_BACKEND_TYPE_MAX)
                return NULL;
        return backend_type_table[t];
}

int wg_backend_type_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < _WG_BACKEND_TYPE_MAX; i++)
                if (streq(s, backend_type_table[i]))
                        return (int) i;
        return -EINVAL;
}

static int backend_try(WgBackend *b, WgBackendType type) {
        b->type = type;
        b->ops = type == WG_BACKEND_KERNEL ? &wg_backend_kernel_ops : &wg_backend_userspace_ops;
        int r = b->ops->init ? b->ops->init(b) : 0;
        if (r < 0)
                b->ops = NULL;
        return r;
}

int wg_backend_new(WgBackendType type, const WgBackendOptions *opts, WgBackend **ret) {
        _cleanup_(wg_backend_freep) WgBackend *b = NULL;
        const char *bin, *dir;
        int r;

        if ((unsigned) type >= _WG_BACKEND_TYPE_MAX || !ret)
                return -EINVAL;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->userspace_log_fd = opts ? opts->userspace_log_fd : -1;

        bin = opts ? opts->userspace_binary : NULL;
        if (isempty(bin))
                bin = getenv("WG_QUICK_USERSPACE_IMPLEMENTATION");
        if (isempty(bin))
                bin = "wireguard-go";
        dir = opts && !isempty(opts->socket_dir) ? opts->socket_dir : "/run/wireguard";
        b->userspace_binary = strdup(bin);
        b->socket_dir = strdup(dir);
        if (!b->userspace_binary || !b->socket_dir)
                return -ENOMEM;

        r = rtnl_open(&b->rtnl);
        if (r < 0)
                return r;

        if (type == WG_BACKEND_AUTO) {
                r = backend_try(b, WG_BACKEND_KERNEL);
                if (r < 0)
                        r = backend_try(b, WG_BACKEND_USERSPACE);
        } else
                r = backend_try(b, type);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(b);
        return 0;
}

WgBackend *wg_backend_free(WgBackend *b) {
        if (!b)
                return NULL;
        if (b->ops && b->ops->done)
                b->ops->done(b);
        rtnl_close(b->rtnl);
        free(b->userspace_binary);
        free(b->socket_dir);
        free(b);
        return NULL;
}

WgBackendType wg_backend_type(const WgBackend *b) {
        return b->type;
}

static int check_ifname(const char *ifname) {
        size_t l = ifname ? strlen(ifname) : 0;
        if (l == 0 || l >= IFNAMSIZ || strchr(ifname, '/') || streq(ifname, ".") || streq(ifname, ".."))
                return -EINVAL;
        return 0;
}

int wg_backend_get_device(WgBackend *b, const char *ifname, WgDevice **ret) {
        int r = check_ifname(ifname);
        if (r < 0)
                return r;
        return b->ops->get_device(b, ifname, ret);
}

int wg_backend_set_device(WgBackend *b, const WgDevice *d) {
        if (!d)
                return -EINVAL;
        int r = check_ifname(d->name);
        if (r < 0)
                return r;
        return b->ops->set_device(b, d);
}

struct WgSetPending {
        int fd;                 /* the answer to read, or -1 */
        int result;             /* when the set was done at once */
        char ifname[IFNAMSIZ];
};

int wg_backend_set_device_begin(WgBackend *b, const WgDevice *d, WgSetPending **ret) {
        if (!d || !ret)
                return -EINVAL;
        int r = check_ifname(d->name);
        if (r < 0)
                return r;
        WgSetPending *p = calloc(1, sizeof(WgSetPending));
        if (!p)
                return -ENOMEM;
        p->fd = -1;
        snprintf(p->ifname, sizeof(p->ifname), "%s", d->name);
        if (b->ops->set_send) {
                r = b->ops->set_send(b, d, &p->fd);
                if (r < 0) {
                        free(p);
                        return r;
                }
        } else
                p->result = b->ops->set_device(b, d);
        *ret = p;
        return 0;
}

int wg_backend_set_device_finish(WgBackend *b, WgSetPending *p) {
        if (!p)
                return -EINVAL;
        int r = p->result;
        if (p->fd >= 0)
                r = b->ops->set_recv(b, p->ifname, p->fd);
        free(p);
        return r;
}

int wg_backend_create(WgBackend *b, const char *ifname) {
        int r = check_ifname(ifname);
        if (r < 0)
                return r;
        return b->ops->create(b, ifname);
}

int wg_backend_delete(WgBackend *b, const char *ifname) {
        int r = check_ifname(ifname);
        if (r < 0)
                return r;
        return b->ops->delete(b, ifname);
}

bool wg_backend_exists(WgBackend *b, const char *ifname) {
        if (check_ifname(ifname) < 0)
                return false;
        return b->ops->exists(b, ifname);
}

int wg_backend_list(WgBackend *b, char ***ret) {
        if (!ret)
                return -EINVAL;
        return b->ops->list(b, ret);
}

int wg_backend_reap(WgBackend *b) {
        return b->ops->reap ? b->ops->reap(b) : 0;
}

int wg_backend_link_ifindex(WgBackend *b, const char *ifname, uint32_t *ret) {
        return rtnl_link_ifindex(b->rtnl, ifname, ret);
}

int wg_backend_link_set_up(WgBackend *b, const char *ifname, bool up) {
        return rtnl_link_set_up(b->rtnl, ifname, up);
}

int wg_backend_link_is_up(WgBackend *b, const char *ifname) {
        return rtnl_link_is_up(b->rtnl, ifname);
}

int wg_backend_link_set_mtu(WgBackend *b, const char *ifname, uint32_t mtu) {
        return rtnl_link_set_mtu(b->rtnl, ifname, mtu);
}

int wg_backend_addr_add(WgBackend *b, const char *ifname, const IpPrefix *a) {
        return rtnl_addr_add(b->rtnl, ifname, a);
}

int wg_backend_addr_del(WgBackend *b, const char *ifname, const IpPrefix *a) {
        return rtnl_addr_del(b->rtnl, ifname, a);
}

int wg_backend_addr_list(WgBackend *b, const char *ifname, IpPrefix **ret, size_t *ret_n) {
        return rtnl_addr_list(b->rtnl, ifname, ret, ret_n);
}

int wg_backend_route_add(WgBackend *b, const char *ifname, const IpPrefix *dst) {
        return rtnl_route_add(b->rtnl, ifname, dst);
}

int wg_backend_route_other(WgBackend *b, const char *ifname, const IpPrefix *dst, uint32_t *ret_oif) {
        return rtnl_route_other(b->rtnl, ifname, dst, ret_oif);
}

int wg_backend_route_del(WgBackend *b, const char *ifname, const IpPrefix *dst) {
        return rtnl_route_del(b->rtnl, ifname, dst);
}

int wg_backend_full_tunnel_set(WgBackend *b, const char *ifname, int family, uint32_t table, bool on,
                               unsigned *ret_changed) {
        return rtnl_full_tunnel_set(b->rtnl, ifname, family, table, on, ret_changed);
}

int wg_backend_tables_in_use(WgBackend *b, uint32_t first, uint32_t n, uint8_t *used) {
        return rtnl_tables_in_use(b->rtnl, first, n, used);
}
