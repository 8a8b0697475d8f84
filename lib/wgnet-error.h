/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The project's D-Bus error names and their errno values, one table for daemon and
 * client. Every name maps to a distinct errno so the mapping works both ways. */

#define WGNET_BUS_NAME "org.wgnet1"
#define WGNET_OBJECT_ROOT "/org/wgnet1"
#define WGNET_NETWORK_PREFIX "/org/wgnet1/network"
#define WGNET_PEER_PREFIX "/org/wgnet1/peer"
#define WGNET_TUNNEL_PREFIX "/org/wgnet1/tunnel"
#define WGNET_MANAGER_INTERFACE "org.wgnet1.Manager"
#define WGNET_NETWORK_INTERFACE "org.wgnet1.Network"
#define WGNET_PEER_INTERFACE "org.wgnet1.Peer"

/* The bits of Network.GetMetricsColumns' flags column. */
#define WGNET_METRICS_ONLINE 0x01
#define WGNET_METRICS_ENABLED 0x02
#define WGNET_METRICS_ROTATION_PENDING 0x04

#define WGNET_ERROR_PREFIX "org.wgnet1.Error."

typedef struct WgnetError {
        const char *name;       /* full D-Bus error name */
        int errnum;             /* positive errno */
} WgnetError;

/* Terminated by { NULL, 0 }. */
extern const WgnetError wgnet_errors[];

/* Full name for a positive errno, or NULL if the errno has no project error. */
const char *wgnet_error_name(int errnum);
/* errno for a full name, or 0 if unknown. */
int wgnet_error_errno(const char *name);
