/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What backend.c dispatches to. backend-netlink.c provides the kernel ops, backend-uapi.c
 * the userspace ops. */

#include "backend.h"
#include "rtnl.h"

typedef struct WgBackendOps {
        int (*init)(WgBackend *b);      /* kernel: resolve the genl family, -EPROTONOSUPPORT if absent */
        void (*done)(WgBackend *b);
        int (*get_device)(WgBackend *b, const char *ifname, WgDevice **ret);
        int (*set_device)(WgBackend *b, const WgDevice *d);
        /* optional: set_device split in two (request out, answer in); set_recv takes the
         * fd (closes it, or keeps it for the next exchange with ifname) */
        int (*set_send)(WgBackend *b, const WgDevice *d, int *ret_fd);
        int (*set_recv)(WgBackend *b, const char *ifname, int fd);
        int (*create)(WgBackend *b, const char *ifname);
        int (*delete)(WgBackend *b, const char *ifname);
        bool (*exists)(WgBackend *b, const char *ifname);
        int (*list)(WgBackend *b, char ***ret);
        int (*reap)(WgBackend *b);
} WgBackendOps;

struct WgBackend {
        WgBackendType type;
        const WgBackendOps *ops;
        Rtnl *rtnl;
        char *userspace_binary;
        char *socket_dir;
        int userspace_log_fd;
        void *priv;                     /* owned by the ops */
};

extern const WgBackendOps wg_backend_kernel_ops;
extern const WgBackendOps wg_backend_userspace_ops;
