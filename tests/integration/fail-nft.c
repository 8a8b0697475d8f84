/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD for wgnetd in tests: libnftables' nft_run_cmd_from_buffer() fails while the
 * file named by WGNET_FAIL_NFT exists (a kernel without nf_tables, a table that another
 * program holds in a way the script cannot take). A fault injection: no real setup makes
 * nft refuse a valid script on demand. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

struct nft_ctx;

int nft_run_cmd_from_buffer(struct nft_ctx *nft, const char *buf);

int nft_run_cmd_from_buffer(struct nft_ctx *nft, const char *buf) {
        static int (*real)(struct nft_ctx *, const char *);
        const char *flag = getenv("WGNET_FAIL_NFT");
        if (flag && access(flag, F_OK) == 0)
                return 1;
        if (!real)
                *(void **) &real = dlsym(RTLD_NEXT, "nft_run_cmd_from_buffer");  /* POSIX's way round ISO C */
        return real(nft, buf);
}
