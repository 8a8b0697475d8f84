/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The input is a buffer of netlink messages, as one recv() from the kernel returns a
 * WG_CMD_GET_DEVICE dump. Whatever it holds, parsing must not crash or leak; a device
 * that parses must survive SET_DEVICE building (small buffers, so peers split) and parse
 * back to the same peers and allowed IPs. The family lookup parser gets the same bytes. */

#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-netlink.h"
#include "netlink-wg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copy into an aligned buffer: recv() buffers are aligned, and the parser may assume it
 * only for the header fields it reads directly. */
static void *dup_aligned(const uint8_t *data, size_t size) {
        void *p = malloc(size > 0 ? size : 1);
        if (p && size > 0)
                memcpy(p, data, size);
        return p;
}

static void check_rebuild(const WgDevice *d) {
        uint8_t buf[WG_NL_MESSAGE_MIN + 64];
        WgNlSetCursor c = { 0 };
        WgDevice *e = NULL;
        int r;

        if (wg_device_new(d->name, &e) < 0)
                abort();
        for (;;) {
                r = wg_nl_set_device_next(d, FUZZ_NETLINK_FAMILY, 1, buf, sizeof(buf), &c);
                if (r <= 0)
                        break;
                struct nlmsghdr *nlh = (struct nlmsghdr *) buf;
                ((struct genlmsghdr *) (nlh + 1))->cmd = WG_CMD_GET_DEVICE;
                if (wg_nl_parse_get_device(nlh, e) < 0)
                        abort();
        }
        if (r < 0)
                abort();
        if (e->n_peers != d->n_peers)
                abort();
        for (size_t i = 0; i < d->n_peers; i++) {
                if (memcmp(d->peers[i].public_key, e->peers[i].public_key, WG_KEY_LEN) != 0)
                        abort();
                if (d->peers[i].n_allowed_ips != e->peers[i].n_allowed_ips)
                        abort();
                for (size_t j = 0; j < d->peers[i].n_allowed_ips; j++)
                        if (!ip_prefix_equal(&d->peers[i].allowed_ips[j], &e->peers[i].allowed_ips[j]))
                                abort();
        }
        wg_device_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        WgDevice *d = NULL;
        uint16_t id;
        void *buf;

        if (size > 1 << 20)
                return 0;
        buf = dup_aligned(data, size);
        if (!buf)
                return 0;
        if (wg_device_new("wg0", &d) < 0)
                abort();

        int r = wg_nl_parse_dump(buf, size, FUZZ_NETLINK_FAMILY, d);
        if (r >= 0)
                check_rebuild(d);
        (void) wg_nl_getfamily_parse(buf, size, &id);

        wg_device_free(d);
        free(buf);
        return 0;
}
