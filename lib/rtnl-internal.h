/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the rtnetlink files share (rtnl.c, rtnl-policy.c). */

#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include "rtnl.h"

#define RTNL_BUF_SIZE 32768

struct Rtnl {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;
        char *buf;                      /* RTNL_BUF_SIZE, for requests and replies */
};

/* An interrupted dump is asked again this many times in all. */
#define DUMP_ATTEMPTS 4

/* A request in r->buf: header only; append the family header and attributes. */
struct nlmsghdr *rtnl_msg(Rtnl *r, uint16_t type, uint16_t flags);
/* Send and read replies until the ACK/DONE or an error. cb sees each data message. */
int rtnl_call(Rtnl *r, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

static inline size_t rtnl_addr_len(int family) {
        return family == AF_INET ? 4 : 16;
}
