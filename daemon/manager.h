/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "backend.h"
#include "hashmap.h"
#include "macro.h"
#include "secretbox.h"

typedef struct Db Db;
typedef struct History History;
typedef struct Network Network;
typedef struct Peer Peer;
typedef struct PolkitRegistry PolkitRegistry;

typedef struct ManagerConfig {
        char *state_dir;                /* /var/lib/wgnet */
        uint64_t tick_usec;             /* reconcile and stats period */
        WgBackendType backend;
        char *userspace_binary;         /* NULL = default */
        int firewall;                   /* manage table inet wgnet and forwarding: 1 yes, 0 no, -1 unset */
        int history_fine_days;          /* transfer history retention, 5-minute buckets (0 = off) */
        int history_coarse_days;        /* hourly buckets (0 = off) */
} ManagerConfig;

typedef struct Manager {
        ManagerConfig config;
        sd_event *event;
        sd_bus *bus;
        int lock_fd;                    /* state_dir/lock, flock'ed while this daemon runs */
        sd_event_source *tick_source;
        sd_event_source *rotation_source;       /* fast poll while a key rotation is pending */
        uint64_t started_at_boottime;           /* µs, CLOCK_BOOTTIME (see manager_started_at) */
        Db *db;
        WgBackend *backend;
        PolkitRegistry *polkit;
        History *history;               /* transfer history, sampled by the tick */
        uint8_t secret_key[SECRETBOX_KEY_LEN];   /* for data at rest; in locked memory */

        Hashmap *networks_by_id;        /* uint64_t id -> Network */
        Hashmap *networks_by_name;      /* name -> Network */
        Hashmap *peers_by_id;           /* uint64_t id -> Peer */
        uint64_t next_network_id, next_peer_id;
        Hashmap *tunnels_by_id;         /* uint64_t id -> Tunnel (tunnel.c) */
        Hashmap *route_conflicts;       /* "IFNAME PREFIX" -> the same string: logged, not added */
        uint64_t next_tunnel_id;

        bool firewall_enabled;
        char *firewall_applied;         /* the last nft script applied */
        char *firewall_failed;          /* the last one refused (logged once) */
        bool firewall_remove_stale;     /* firewall off: remove an earlier run's table once */
        int forwarding_error[2];        /* the last error switching on forwarding, v4 / v6 */
        uint64_t firewall_applied_usec;

        /* Group commit: AddPeer calls checked and authorized, waiting to share one
         * transaction and one device set (see peer-add.c). */
        struct PendingAdd *pending_adds;
        size_t n_pending_adds;
        sd_event_source *flush_defer, *flush_timer;
        bool flushing;

        /* Key pairs generated while the loop is idle, for AddPeer (peer-add.c): an X25519
         * key generation is most of a one-peer add's own CPU time. In locked memory, each
         * wiped when taken and at exit. */
        struct KeyPair *key_pool;
        size_t n_key_pool;
        sd_event_source *key_pool_source;
        sd_event_source *trim_source;   /* gives a large batch's freed memory back, when idle */
} Manager;

int manager_new(const ManagerConfig *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free)

/* Open the database, load everything, connect to the bus, register objects, take the
 * name, reconcile every active network. */
/* Record (creating) or forget that CreateNetwork is bringing up ifname before its commit;
 * the next start removes an interface left recorded. */
int manager_creating_interface(Manager *m, const char *ifname, bool creating);
/* One wgnetd per state directory (one bus too, checked at the start): the lock on
 * STATE_DIR/lock, holding the PID; refused, naming the holder, while another has it. */
int manager_lock_state_dir(const char *state_dir, int *ret_fd);
int manager_start(Manager *m);
/* A clean stop (SIGTERM): what memory holds for the database is written. */
void manager_stop(Manager *m);
/* Reconcile all active networks and refresh their status (the tick). */
void manager_reconcile_all(Manager *m, bool log_repairs);
/* After a large batch: return the heap's free memory to the kernel once the loop is idle. */
void manager_trim_memory_later(Manager *m);

Network *manager_find_network_by_path(Manager *m, const char *path);
Peer *manager_find_peer_by_path(Manager *m, const char *path);

/* Seal/open a 32-byte secret bound to (table, column, id). */
int manager_seal(Manager *m, const char *what, uint64_t id, const uint8_t secret[32],
                 uint8_t *out, size_t out_size, size_t *ret_len);
int manager_open(Manager *m, const char *what, uint64_t id, const uint8_t *blob, size_t len,
                 uint8_t ret_secret[32]);

/* The bus vtables, one per interface (manager-bus.c, network-bus.c, peer-bus.c). */
int manager_bus_register(Manager *m);
/* BEGIN, then the new network's row (manager-bus.c): NetworkExists when taken, rolled
 * back on failure, left open on success. */
int manager_insert_network(Manager *m, Network *n, sd_bus_error *error);
extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable network_vtable[];
extern const sd_bus_vtable peer_vtable[];
/* Network.GetMetrics and GetMetricsColumns (metrics-bus.c). */
int network_method_get_metrics(sd_bus_message *m, void *userdata, sd_bus_error *error);
int network_method_get_metrics_columns(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* Peer.GetTransferHistory (history-bus.c). */
int peer_method_get_transfer_history(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* Method → polkit action, for every method that is not plain read access. */
typedef struct MethodAction {
        const char *interface;
        const char *member;
        const char *action;             /* NULL = read access, no authorization needed */
        const char *action2;            /* a second action that must allow too, or NULL */
} MethodAction;
extern const MethodAction method_actions[];
/* NULL when the method is not in the table. */
const MethodAction *method_action_lookup(const char *interface, const char *member);

/* Verify the caller of m for the action of m's interface+member: 1 allowed, 0 pending
 * (return 1 from the handler: it is called again with the answer), negative errno with
 * error set when denied. */
int manager_verify(Manager *mgr, sd_bus_message *m, sd_bus_error *error);
/* The result of wg_backend_route_add() for ifname and dst: a route another interface holds
 * (-EADDRINUSE) is logged once, not on every tick, and again once it could be added. */
void manager_route_added(Manager *m, const char *ifname, const IpPrefix *dst, int r);
/* For a handler whose checks, before polkit, must see the queued AddPeer calls as
 * committed: commits them when the caller will be allowed (uid 0, or polkit's answer
 * is in). A caller still waiting for polkit, or denied, does not break up the batch; the
 * handler runs its checks again once polkit has answered. */
void manager_flush_adds_if_allowed(Manager *mgr, sd_bus_message *m);

