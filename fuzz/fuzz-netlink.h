/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by fuzz-netlink.c and gen-corpus-netlink.c: the generic netlink family id that the
 * harness takes for "wireguard" (the kernel assigns it at run time; any value works). */
#define FUZZ_NETLINK_FAMILY 0x1d
