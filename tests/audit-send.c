/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helper of test-audit-journal.py: writes one audit entry through audit_log() (with
 * WGNET_LOG_JOURNAL=1 from the environment: to the journal socket) for a network "office"
 * (id 3, interface wg7) and a peer "phone" (id 42). */
#include "audit.h"
#include "manager.h"
#include "network.h"
#include "peer.h"

int main(void) {
        Network n = { .id = 3, .name = (char *) "office", .ifname = (char *) "wg7" };
        Peer p = { .id = 42, .name = (char *) "phone", .network = &n };
        audit_log(NULL, AUDIT_PEER_ADDED, &n, &p, "%s: peer '%s' added", n.name, p.name);
        return 0;
}
