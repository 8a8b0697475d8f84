/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel backend: the "wireguard" generic netlink family through libmnl for the
 * device configuration, rtnetlink (lib/rtnl.c) for the links. Messages are built and
 * parsed by lib/netlink-wg.c; this file only does the I/O. */

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>

#include "backend-internal.h"
#include "macro.h"
#include "netlink-wg.h"

/* Size of the SET_DEVICE messages we build (the kernel takes larger ones, but a message
 * is one allocation on its side) and of the receive buffer (the kernel's dump skbs are
 * at most 32 KiB). */
#define NL_SET_SIZE 32768u
#define NL_RECV_SIZE 65536u
#define DUMP_RETRIES 16

typedef struct NlPriv {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;
        uint16_t family_id;
        uint8_t *buf;   /* NL_RECV_SIZE >= NL_SET_SIZE */
} NlPriv;

static NlPriv *nl_priv_free(NlPriv *p) {
        if (!p)
                return NULL;
        if (p->nl)
                mnl_socket_close(p->nl);
        if (p->buf)
                wg_wipe_free(p->buf, NL_RECV_SIZE);   /* held keys */
        free(p);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(NlPriv *, nl_priv_free)

static int nl_send(NlPriv *p, const void *msg, size_t len) {
        ssize_t n = mnl_socket_sendto(p->nl, msg, len);
        if (n < 0)
                return negative_errno();
        return (size_t) n == len ? 0 : -EIO;
}

/* recv, retried on EINTR; -ENOSPC if a message did not fit (MSG_TRUNC). */
static ssize_t nl_recv(NlPriv *p) {
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(p->nl, p->buf, NL_RECV_SIZE);
                if (n >= 0)
                        return n;
                if (errno != EINTR)
                        return negative_errno();
        }
}

/* A buffer left over from an earlier request (a dump abandoned after an error)? One recv
 * returns one kernel skb, whose messages all answer one request. */
static bool nl_stale(const NlPriv *p, size_t n, uint32_t seq) {
        const struct nlmsghdr *nlh = (const void *) p->buf;
        return n >= sizeof(*nlh) && nlh->nlmsg_seq != seq;
}

/* Does the buffer hold the end of a dump (NLMSG_DONE or an error)? */
static bool nl_dump_ended(const NlPriv *p, size_t n) {
        int rem = (int) n;
        for (const struct nlmsghdr *nlh = (const void *) p->buf; mnl_nlmsg_ok(nlh, rem);
             nlh = mnl_nlmsg_next(nlh, &rem))
                if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
                        return true;
        return false;
}

/* Wait for the ack of request seq: 0, or its negative error. */
static int nl_wait_ack(NlPriv *p, uint32_t seq) {
        for (;;) {
                ssize_t n = nl_recv(p);
                if (n < 0)
                        return (int) n;
                if (nl_stale(p, (size_t) n, seq))
                        continue;
                int r = mnl_cb_run(p->buf, (size_t) n, seq, p->portid, NULL, NULL);
                if (r < 0)
                        return negative_errno();
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static int nl_resolve_family(NlPriv *p) {
        uint32_t seq = ++p->seq;
        int r = wg_nl_getfamily_request(WG_GENL_NAME, seq, p->buf, NL_RECV_SIZE);
        if (r < 0)
                return r;
        r = nl_send(p, p->buf, (size_t) r);
        if (r < 0)
                return r;

        bool found = false;
        for (;;) {
                ssize_t n = nl_recv(p);
                if (n < 0)
                        return (int) n;
                if (nl_stale(p, (size_t) n, seq))
                        continue;
                uint16_t id;
                /* The reply, then the ack (NLM_F_ACK), or one error. */
                const struct nlmsghdr *nlh = (const void *) p->buf;
                if (!found && nlh->nlmsg_type != NLMSG_ERROR) {
                        r = wg_nl_getfamily_parse(p->buf, (size_t) n, &id);
                        if (r < 0)
                                return r;
                        p->family_id = id;
                        found = true;
                }
                r = mnl_cb_run(p->buf, (size_t) n, seq, p->portid, NULL, NULL);
                if (r < 0)
                        return negative_errno();
                if (r == MNL_CB_STOP)
                        return found ? 0 : -EBADMSG;
        }
}

static int kernel_init(WgBackend *b) {
        _cleanup_(nl_priv_freep) NlPriv *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->buf = malloc(NL_RECV_SIZE);
        if (!p->buf)
                return -ENOMEM;
        p->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
        if (!p->nl)
                return negative_errno();
        if (mnl_socket_bind(p->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return negative_errno();
        p->portid = mnl_socket_get_portid(p->nl);
        p->seq = (uint32_t) getpid() << 8;

        /* CTRL_CMD_GETFAMILY itself asks the kernel to load the module
         * (net-pf-16-proto-16-family-wireguard) when the family is unknown. */
        int r = nl_resolve_family(p);
        if (r == -ENOENT)
                return -EPROTONOSUPPORT;
        if (r < 0)
                return r;

        b->priv = TAKE_PTR(p);
        return 0;
}

static void kernel_done(WgBackend *b) {
        b->priv = nl_priv_free(b->priv);
}

/* One dump. -EINTR: interrupted by a concurrent change, the socket drained. */
static int kernel_dump_once(NlPriv *p, const char *ifname, WgDevice **ret) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint32_t seq = ++p->seq;
        int r;

        r = wg_device_new(ifname, &d);
        if (r < 0)
                return r;
        r = wg_nl_get_device_request(ifname, p->family_id, seq, p->buf, NL_RECV_SIZE);
        if (r < 0)
                return r;
        r = nl_send(p, p->buf, (size_t) r);
        if (r < 0)
                return r;

        bool intr = false;
        for (;;) {
                ssize_t n = nl_recv(p);
                if (n < 0)
                        return (int) n;
                if (nl_stale(p, (size_t) n, seq))
                        continue;
                if (intr) {
                        /* Drain what is left of the interrupted dump. */
                        if (nl_dump_ended(p, (size_t) n))
                                return -EINTR;
                        continue;
                }
                r = wg_nl_parse_dump(p->buf, (size_t) n, p->family_id, d);
                if (r == -EINTR) {
                        if (nl_dump_ended(p, (size_t) n))
                                return -EINTR;
                        intr = true;
                        continue;
                }
                if (r < 0) {
                        /* Read out what is left of the dump, or the next request on this
                         * socket would find it still running (-EBUSY). */
                        while (n >= 0 && !nl_dump_ended(p, (size_t) n))
                                do
                                        n = nl_recv(p);
                                while (n >= 0 && nl_stale(p, (size_t) n, seq));
                        /* -EOPNOTSUPP: the link exists but is not WireGuard */
                        return r == -EOPNOTSUPP ? -ENODEV : r;
                }
                if (r > 0)
                        break;
        }

        *ret = TAKE_PTR(d);
        return 0;
}

static int kernel_get_device(WgBackend *b, const char *ifname, WgDevice **ret) {
        NlPriv *p = b->priv;
        int r = -EINTR;

        if (isempty(ifname) || strlen(ifname) >= IFNAMSIZ)
                return -EINVAL;
        for (unsigned i = 0; i < DUMP_RETRIES && r == -EINTR; i++)
                r = kernel_dump_once(p, ifname, ret);
        wg_wipe(p->buf, NL_RECV_SIZE);   /* the dump held the private key and PSKs */
        return r == -EINTR ? -EAGAIN : r;
}

static int kernel_set_device(WgBackend *b, const WgDevice *d) {
        NlPriv *p = b->priv;
        WgNlSetCursor c = { 0 };
        int r;

        for (;;) {
                uint32_t seq = ++p->seq;
                r = wg_nl_set_device_next(d, p->family_id, seq, p->buf, NL_SET_SIZE, &c);
                if (r <= 0)
                        break;
                r = nl_send(p, p->buf, (size_t) r);
                if (r < 0)
                        break;
                r = nl_wait_ack(p, seq);
                if (r < 0)
                        break;
        }
        wg_wipe(p->buf, NL_SET_SIZE);   /* the first message may hold the private key */
        if (r == -EOPNOTSUPP)
                return -ENODEV;
        return r;
}

static int kernel_list(WgBackend *b, char ***ret) {
        return rtnl_link_list_kind(b->rtnl, WG_GENL_NAME, ret);
}

/* 1: a WireGuard link of that name, 0: none (or a link of another kind), < 0: cannot tell. */
static int kernel_is_ours(WgBackend *b, const char *ifname) {
        if (isempty(ifname))
                return 0;
        return rtnl_link_is_kind(b->rtnl, ifname, WG_GENL_NAME);
}

static bool kernel_exists(WgBackend *b, const char *ifname) {
        return kernel_is_ours(b, ifname) > 0;
}

static int kernel_create(WgBackend *b, const char *ifname) {
        if (isempty(ifname) || strlen(ifname) >= IFNAMSIZ)
                return -EINVAL;
        return rtnl_link_create(b->rtnl, ifname, WG_GENL_NAME);
}

static int kernel_delete(WgBackend *b, const char *ifname) {
        /* Never delete a link that is not ours to manage (an ethernet of the same name). */
        int r = kernel_is_ours(b, ifname);
        if (r <= 0)
                return r < 0 ? r : -ENODEV;
        return rtnl_link_delete(b->rtnl, ifname);
}

static int kernel_reap(WgBackend *b) {
        return 0;
}

const WgBackendOps wg_backend_kernel_ops = {
        .init = kernel_init,
        .done = kernel_done,
        .get_device = kernel_get_device,
        .set_device = kernel_set_device,
        .create = kernel_create,
        .delete = kernel_delete,
        .exists = kernel_exists,
        .list = kernel_list,
        .reap = kernel_reap,
};
