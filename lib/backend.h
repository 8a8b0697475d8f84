/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* WireGuard devices, through the kernel (generic netlink family "wireguard", libmnl) or a
 * userspace implementation (wireguard-go, UAPI socket /run/wireguard/IF.sock). The link,
 * address and route operations go through rtnetlink for both.
 *
 * Userspace interface names are global: every network namespace shares /run/wireguard,
 * so wg_backend_create() refuses (-EADDRINUSE) a name whose socket is live and owned by a
 * process in another network namespace. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "wgdevice.h"

typedef enum WgBackendType {
        WG_BACKEND_AUTO,
        WG_BACKEND_KERNEL,
        WG_BACKEND_USERSPACE,
        _WG_BACKEND_TYPE_MAX,
} WgBackendType;

const char *wg_backend_type_to_string(WgBackendType t);   /* "auto", "kernel", "userspace" */
int wg_backend_type_from_string(const char *s);           /* WgBackendType or -EINVAL */

typedef struct WgBackendOptions {
        const char *userspace_binary;   /* NULL: $WG_QUICK_USERSPACE_IMPLEMENTATION, else "wireguard-go" */
        const char *socket_dir;         /* NULL: "/run/wireguard" */
        int userspace_log_fd;           /* where wireguard-go's output goes; -1: /dev/null */
} WgBackendOptions;

typedef struct WgBackend WgBackend;

/* WG_BACKEND_AUTO picks the kernel when the "wireguard" generic netlink family can be
 * resolved (after the module has had a chance to autoload), else userspace. */
int wg_backend_new(WgBackendType type, const WgBackendOptions *opts, WgBackend **ret);
WgBackend *wg_backend_free(WgBackend *b);
static inline void wg_backend_freep(WgBackend **b) {
        if (*b)
                *b = wg_backend_free(*b);
}
WgBackendType wg_backend_type(const WgBackend *b);

/* -ENODEV when there is no such WireGuard device. */
int wg_backend_get_device(WgBackend *b, const char *ifname, WgDevice **ret);
/* Apply a sparse set request. Splits into as many messages as needed. */
int wg_backend_set_device(WgBackend *b, const WgDevice *d);
/* The same set in two steps, so that the caller can do other work (a durable commit)
 * while the device applies it: begin sends it, finish waits for the device's answer and
 * returns what set_device would have returned. finish must follow every successful begin.
 * Backends that cannot split it do the whole set in begin. */
typedef struct WgSetPending WgSetPending;
int wg_backend_set_device_begin(WgBackend *b, const WgDevice *d, WgSetPending **ret);
int wg_backend_set_device_finish(WgBackend *b, WgSetPending *p);

/* Create the WireGuard interface (kernel: rtnetlink link of kind "wireguard"; userspace:
 * start the implementation and wait until its socket answers). -EEXIST if it exists. */
int wg_backend_create(WgBackend *b, const char *ifname);
/* Remove it (userspace: delete the tun link so the process exits, then wait for it by PID,
 * SIGKILL after a timeout). -ENODEV if missing. */
int wg_backend_delete(WgBackend *b, const char *ifname);
/* Is there a WireGuard device of this name for this backend? */
bool wg_backend_exists(WgBackend *b, const char *ifname);
/* NULL-terminated list of the WireGuard interface names this backend sees. */
int wg_backend_list(WgBackend *b, char ***ret);
/* Reap userspace implementation processes that exited (non-blocking); returns how many. */
int wg_backend_reap(WgBackend *b);

/* Link, address and route operations (rtnetlink; for both backends). */
int wg_backend_link_ifindex(WgBackend *b, const char *ifname, uint32_t *ret);
int wg_backend_link_set_up(WgBackend *b, const char *ifname, bool up);
int wg_backend_link_is_up(WgBackend *b, const char *ifname);
int wg_backend_link_set_mtu(WgBackend *b, const char *ifname, uint32_t mtu);
/* The MTU a new WireGuard device gets (the kernel module's and wireguard-go's default). */
#define WG_DEFAULT_MTU 1420
/* Adding an address or route that exists is not an error; removing a missing one neither. */
int wg_backend_addr_add(WgBackend *b, const char *ifname, const IpPrefix *a);
int wg_backend_addr_del(WgBackend *b, const char *ifname, const IpPrefix *a);
int wg_backend_addr_list(WgBackend *b, const char *ifname, IpPrefix **ret, size_t *ret_n);
/* -EADDRINUSE when another interface routes exactly dst (see rtnl_route_add). */
int wg_backend_route_add(WgBackend *b, const char *ifname, const IpPrefix *dst);
int wg_backend_route_other(WgBackend *b, const char *ifname, const IpPrefix *dst, uint32_t *ret_oif);
int wg_backend_route_del(WgBackend *b, const char *ifname, const IpPrefix *dst);
/* Full-tunnel routing through ifname (see rtnl_full_tunnel_set) and whether a table is free. */
int wg_backend_full_tunnel_set(WgBackend *b, const char *ifname, int family, uint32_t table, bool on,
                               unsigned *ret_changed);
int wg_backend_tables_in_use(WgBackend *b, uint32_t first, uint32_t n, uint8_t *used);
