/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "audit.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "peer.h"
#include "tunnel.h"

typedef struct AuditEventInfo {
        const char *name;
        const char *message_id;         /* generated once, never change */
} AuditEventInfo;

static const AuditEventInfo events[_AUDIT_EVENT_MAX] = {
        [AUDIT_NETWORK_CREATED] = { "network-created", "fd38c73f8a894fcda5a66fbdfc09fb3c" },
        [AUDIT_NETWORK_IMPORTED] = { "network-imported", "c85be15a289449f5805cec729840c39f" },
        [AUDIT_NETWORK_UPDATED] = { "network-updated", "a24ae7666b2540c3a36b94738d0e08fe" },
        [AUDIT_NETWORK_ACTIVATED] = { "network-activated", "2c4ec6a5d42b40f889acc6ccd06819dd" },
        [AUDIT_NETWORK_DEACTIVATED] = { "network-deactivated", "8c601d4cc0434a83bda4d5c7945ef533" },
        [AUDIT_NETWORK_DELETED] = { "network-deleted", "6eac62b7c9674f179041cdff2600c52e" },
        [AUDIT_PEER_ADDED] = { "peer-added", "84d81aeb1db945c09ad3581c3d06a74c" },
        [AUDIT_PEER_UPDATED] = { "peer-updated", "9c2c8b00d8344d7ab9c82611108d6392" },
        [AUDIT_PEER_ENABLED] = { "peer-enabled", "728227e9d938439eb6142a1a7578919e" },
        [AUDIT_PEER_DISABLED] = { "peer-disabled", "fb7c02390362477e98286ba6aff97a5c" },
        [AUDIT_PEER_REMOVED] = { "peer-removed", "ff2e588dc420434eb9876f11b028a09f" },
        [AUDIT_PEER_KEYS_ROTATED] = { "peer-keys-rotated", "499c47b860d747e7828903b529924fc0" },
        [AUDIT_SECRET_READ] = { "secret-read", "0a82d3f20a624e249e2771d70efa081f" },
        [AUDIT_PEER_ROTATION_COMPLETED] = { "peer-rotation-completed", "72b595a53e68468a96b397229cc8b4b4" },
        [AUDIT_PEER_REVOKED] = { "peer-revoked", "c367525656e14a92bbaecf026b37a29b" },
        [AUDIT_TUNNEL_CREATED] = { "tunnel-created", "6189662e90834666a652d9624090af65" },
        [AUDIT_TUNNEL_IMPORTED] = { "tunnel-imported", "1ee65f2cabc248cf9684cfbd016bc4c1" },
        [AUDIT_TUNNEL_PAIRED] = { "tunnel-paired", "da8bcc0629654c33915773f93ab9e238" },
        [AUDIT_TUNNEL_UPDATED] = { "tunnel-updated", "8de50db0c5e64911abfd3c976daacd40" },
        [AUDIT_TUNNEL_ACTIVATED] = { "tunnel-activated", "e81d820662c4490c99153489bf2c26db" },
        [AUDIT_TUNNEL_DEACTIVATED] = { "tunnel-deactivated", "2a2e7281d1414a1ba21c07bde8b1e865" },
        [AUDIT_TUNNEL_DELETED] = { "tunnel-deleted", "606e3a29b64b4c90b98cdb12d49fb17a" },
};

const char *audit_event_to_string(AuditEvent e) {
        return e >= 0 && e < _AUDIT_EVENT_MAX ? events[e].name : NULL;
}

const char *audit_event_message_id(AuditEvent e) {
        return e >= 0 && e < _AUDIT_EVENT_MAX ? events[e].message_id : NULL;
}

static int use_journal = -1;

void audit_set_journal(int on) {
        use_journal = on;
}

/* Is stderr connected to the journal (systemd sets JOURNAL_STREAM=dev:ino)? */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static bool journal_enabled(void) {
        if (use_journal < 0) {
                const char *e = getenv("WGNET_LOG_JOURNAL");
                use_journal = e ? streq(e, "1") : stderr_is_journal();
        }
        return use_journal > 0;
}

typedef struct Caller {
        uid_t uid;
        pid_t pid;
        const char *unit;
        const char *sender;
        bool has_uid, has_pid;
} Caller;

/* uid and pid come from the bus (dbus-daemon knows them); the unit needs /proc
 * (augmented), which a sandbox may hide: asked for separately, so its absence does not cost
 * the uid. Strings point into the creds, kept by the caller. */
/* Callers' creds by unique name: a unique name is never reused on a bus and a connection's
 * uid and pid are fixed when it connects, so the records of one call (AddPeers writes one
 * per peer) and of one client's calls ask the bus only once. Several clients at a time
 * (a batch of AddPeer calls from 8 callers is answered at once) each keep their entry; the
 * map is emptied when it holds CALLERS_MAX names, most of them gone from the bus. */
typedef struct CallerCreds {
        sd_bus_creds *ids, *unit;
} CallerCreds;

#define CALLERS_MAX 256
static Hashmap *callers;               /* char *unique name -> CallerCreds */

void audit_forget_callers(void) {
        CallerCreds *cc;
        const void *key;
        for (size_t i = 0; hashmap_iterate(callers, &i, (void **) &cc, &key);) {
                sd_bus_creds_unref(cc->ids);
                sd_bus_creds_unref(cc->unit);
                free(cc);
                free((void *) key);
        }
        callers = hashmap_free(callers);
}

static void caller_remember(const char *sender, sd_bus_creds *ids, sd_bus_creds *unit) {
        if (callers && hashmap_size(callers) >= CALLERS_MAX)
                audit_forget_callers();
        if (!callers)
                callers = hashmap_new(string_hash_func, string_equal_func);
        CallerCreds *cc = calloc(1, sizeof(CallerCreds));
        char *key = strdup(sender);
        if (!callers || !cc || !key || hashmap_put(callers, key, cc) < 0) {
                free(cc);
                free(key);
                return;
        }
        cc->ids = ids ? sd_bus_creds_ref(ids) : NULL;
        cc->unit = unit ? sd_bus_creds_ref(unit) : NULL;
}

static void caller_from_message(sd_bus_message *m, sd_bus_creds **ret_ids, sd_bus_creds **ret_unit, Caller *c) {
        *c = (Caller) { 0 };
        if (!m)
                return;
        c->sender = sd_bus_message_get_sender(m);
        CallerCreds *cc = c->sender && callers ? hashmap_get(callers, c->sender) : NULL;
        if (cc) {
                *ret_ids = cc->ids ? sd_bus_creds_ref(cc->ids) : NULL;
                *ret_unit = cc->unit ? sd_bus_creds_ref(cc->unit) : NULL;
        } else {
                if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID, ret_ids) < 0)
                        *ret_ids = NULL;
                if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_UNIT | SD_BUS_CREDS_AUGMENT, ret_unit) < 0)
                        *ret_unit = NULL;
                if (c->sender)
                        caller_remember(c->sender, *ret_ids, *ret_unit);
        }
        if (*ret_ids) {
                c->has_uid = sd_bus_creds_get_euid(*ret_ids, &c->uid) >= 0;
                c->has_pid = sd_bus_creds_get_pid(*ret_ids, &c->pid) >= 0;
        }
        if (*ret_unit && sd_bus_creds_get_unit(*ret_unit, &c->unit) < 0)
                c->unit = NULL;
}

#define MAX_FIELDS 16

static int add_field(struct iovec *iov, size_t *n, char **owned, const char *fmt, ...) _printf_(4, 5);
static int add_field(struct iovec *iov, size_t *n, char **owned, const char *fmt, ...) {
        va_list ap;
        char *s;
        int k;

        if (*n >= MAX_FIELDS)
                return -E2BIG;
        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        owned[*n] = s;
        iov[*n] = (struct iovec) { .iov_base = s, .iov_len = (size_t) k };
        (*n)++;
        return 0;
}

/* What an entry is about: a network and maybe a peer, or a tunnel. */
typedef struct Subject {
        const Network *n;
        const Peer *p;
        const Tunnel *t;
} Subject;

static void audit_logv(sd_bus_message *m, AuditEvent e, const Subject *s, const char *fmt, va_list ap)
        _printf_(4, 0);

void audit_log(sd_bus_message *m, AuditEvent e, const Network *n, const Peer *p, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        audit_logv(m, e, &(Subject) { .n = n, .p = p }, fmt, ap);
        va_end(ap);
}

void audit_log_tunnel(sd_bus_message *m, AuditEvent e, const Tunnel *t, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        audit_logv(m, e, &(Subject) { .t = t }, fmt, ap);
        va_end(ap);
}

static void audit_logv(sd_bus_message *m, AuditEvent e, const Subject *s, const char *fmt, va_list ap) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *ids = NULL, *unit = NULL;
        _cleanup_(freep) char *text = NULL;
        char uid[24] = "-", pid[24] = "-";
        const Network *n = s->n;
        const Peer *p = s->p;
        const Tunnel *t = s->t;
        Caller c;
        int k;

        k = vasprintf(&text, fmt, ap);
        if (k < 0)
                return;
        caller_from_message(m, &ids, &unit, &c);
        if (c.has_uid)
                snprintf(uid, sizeof(uid), "%" PRIu32, (uint32_t) c.uid);
        if (c.has_pid)
                snprintf(pid, sizeof(pid), "%" PRIi32, (int32_t) c.pid);

        if (journal_enabled()) {
                struct iovec iov[MAX_FIELDS];
                char *owned[MAX_FIELDS] = { 0 };
                size_t nf = 0;
                int r = 0;

                r = r < 0 ? r : add_field(iov, &nf, owned, "MESSAGE=%s", text);
                r = r < 0 ? r : add_field(iov, &nf, owned, "MESSAGE_ID=%s", events[e].message_id);
                r = r < 0 ? r : add_field(iov, &nf, owned, "PRIORITY=5");
                r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_ACTION=%s", events[e].name);
                if (n) {
                        r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_NETWORK=%s", n->name);
                        r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_NETWORK_ID=%" PRIu64, n->id);
                        r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_INTERFACE=%s", n->ifname);
                }
                if (p) {
                        r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_PEER=%s", p->name);
                        r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_PEER_ID=%" PRIu64, p->id);
                }
                if (t) {
                        r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_TUNNEL=%s", t->name);
                        r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_TUNNEL_ID=%" PRIu64, t->id);
                        r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_INTERFACE=%s", t->ifname);
                }
                if (m) {
                        r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_CALLER_UID=%s", uid);
                        r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_CALLER_PID=%s", pid);
                        if (c.unit)
                                r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_CALLER_UNIT=%s", c.unit);
                        if (c.sender)
                                r = r < 0 ? r : add_field(iov, &nf, owned, "WGNET_CALLER_BUS_NAME=%s", c.sender);
                }
                if (r >= 0)
                        r = sd_journal_sendv(iov, (int) nf);
                for (size_t i = 0; i < nf; i++)
                        free(owned[i]);
                if (r >= 0)
                        return;
                /* The journal went away: fall through to stderr, so the entry is not lost. */
        }
        log_notice("%s [audit action=%s%s%s%s%s%s%s uid=%s pid=%s unit=%s sender=%s message_id=%s]", text,
                   events[e].name,
                   n ? " network=" : "", n ? n->name : "",
                   p ? " peer=" : "", p ? p->name : "",
                   t ? " tunnel=" : "", t ? t->name : "",
                   uid, pid, c.unit ? c.unit : "-", c.sender ? c.sender : "-", events[e].message_id);
}
