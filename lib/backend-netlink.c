/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stub of the kernel backend: replaced by the generic netlink implementation. Until then
 * the kernel backend is never available, and AUTO falls back to userspace. */
#include "backend-internal.h"
#include "macro.h"

static int kernel_init(WgBackend *b) {
        return -EPROTONOSUPPORT;
}

const WgBackendOps wg_backend_kernel_ops = {
        .init = kernel_init,
};
