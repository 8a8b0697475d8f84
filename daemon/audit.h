/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The audit trail: one structured entry per change, with who asked (uid, unit, pid and
 * bus name from sd-bus credentials) and what changed (WGNET_NETWORK=, WGNET_PEER=,
 * WGNET_ACTION=, a stable MESSAGE_ID= per kind of event). Written with sd_journal_send()
 * when stderr is the journal (JOURNAL_STREAM) or WGNET_LOG_JOURNAL=1, else as one stderr
 * line with the same fields. Never pass a secret: the caller formats only names. */

#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct Network Network;
typedef struct Peer Peer;
typedef struct Tunnel Tunnel;

typedef enum AuditEvent {
        AUDIT_NETWORK_CREATED,
        AUDIT_NETWORK_IMPORTED,
        AUDIT_NETWORK_UPDATED,
        AUDIT_NETWORK_ACTIVATED,
        AUDIT_NETWORK_DEACTIVATED,
        AUDIT_NETWORK_DELETED,
        AUDIT_PEER_ADDED,
        AUDIT_PEER_UPDATED,
        AUDIT_PEER_ENABLED,
        AUDIT_PEER_DISABLED,
        AUDIT_PEER_REMOVED,
        AUDIT_PEER_KEYS_ROTATED,
        AUDIT_SECRET_READ,
        AUDIT_PEER_ROTATION_COMPLETED,  /* by the daemon: new key's handshake or grace period over */
        AUDIT_PEER_REVOKED,             /* by the daemon: expired or inactive */
        AUDIT_TUNNEL_CREATED,
        AUDIT_TUNNEL_IMPORTED,          /* ImportPairing of an offer */
        AUDIT_TUNNEL_PAIRED,            /* ImportPairing of a reply */
        AUDIT_TUNNEL_UPDATED,
        AUDIT_TUNNEL_ACTIVATED,
        AUDIT_TUNNEL_DEACTIVATED,
        AUDIT_TUNNEL_DELETED,
        _AUDIT_EVENT_MAX,
} AuditEvent;

/* "peer-added", ... (the WGNET_ACTION= value). */
const char *audit_event_to_string(AuditEvent e);
/* The 32 hex digit MESSAGE_ID of e. */
const char *audit_event_message_id(AuditEvent e);

/* Log one change. m is the bus call that asked for it (NULL: the daemon itself); n and p
 * may be NULL. */
void audit_log(sd_bus_message *m, AuditEvent e, const Network *n, const Peer *p, const char *fmt, ...)
        _printf_(5, 6);
/* The same for a tunnel (WGNET_TUNNEL=, WGNET_TUNNEL_ID=, WGNET_INTERFACE=). */
void audit_log_tunnel(sd_bus_message *m, AuditEvent e, const Tunnel *t, const char *fmt, ...) _printf_(4, 5);

/* Force the sink (tests): 1 journal, 0 stderr, -1 detect again. */
void audit_set_journal(int on);

/* Drop the creds kept per caller (at exit, and when too many are kept). */
void audit_forget_callers(void);
