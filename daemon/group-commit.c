/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Group commit of AddPeer calls: queued, checked and authorized calls share one transaction,
 * one fsync and one device set; each caller is answered once its peer is durable and on
 * the device. */
#include <inttypes.h>
#include <poll.h>
#include <sodium.h>
#include "audit.h"
#include "db.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "peer-add.h"
#include "validate.h"
#include "wgnet-error.h"

/* --- group commit ------------------------------------------------------------------ */

#define PENDING_ADDS_MAX 64
#define FLUSH_DELAY_USEC 2000

static int pending_conflict(Manager *m, Network *n, const PeerSpec *s, sd_bus_error *error) {
        for (size_t i = 0; i < m->n_pending_adds; i++) {
                const PeerSpec *o = &m->pending_adds[i].spec;
                if (m->pending_adds[i].network_id != n->id) {
                        /* A site network queued for another network is routed there once it is
                         * committed: the checks against committed peers cannot see it yet. */
                        Network *other = hashmap_get(m->networks_by_id, &m->pending_adds[i].network_id);
                        for (size_t a = 0; a < s->n_site_networks; a++)
                                for (size_t b = 0; b < o->n_site_networks; b++)
                                        if (s->site_networks[a].prefixlen > 0 && o->site_networks[b].prefixlen > 0 &&
                                            ip_prefix_overlaps(&s->site_networks[a], &o->site_networks[b])) {
                                                char buf[IP_PREFIX_STRLEN];
                                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                                         "Site network '%s' overlaps a site network of peer "
                                                                         "'%s' added to network '%s'",
                                                                         ip_prefix_to_string(&s->site_networks[a], buf),
                                                                         o->name, other ? other->name : "?");
                                        }
                        continue;
                }
                if (streq(o->name, s->name))
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists",
                                                 "Peer '%s' already exists in network '%s'", s->name, n->name);
                if (s->own_key && o->own_key && wg_key_equal(s->public_key, o->public_key))
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists",
                                                 "Public key '%s' is already used by peer '%s'",
                                                 s->opts[PEEROPT_PUBLIC_KEY].s, o->name);
                for (size_t a = 0; a < s->n_addresses; a++)
                        for (size_t b = 0; b < o->n_addresses; b++)
                                if (ip_prefix_equal(&s->addresses[a], &o->addresses[b])) {
                                        char buf[IP_PREFIX_STRLEN];
                                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse",
                                                                 "Address '%s' is already in use in network '%s'",
                                                                 ip_addr_to_string(&s->addresses[a], buf), n->name);
                                }
                for (size_t a = 0; a < s->n_site_networks; a++)
                        for (size_t b = 0; b < o->n_site_networks; b++)
                                if (ip_prefix_overlaps(&s->site_networks[a], &o->site_networks[b]))
                                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse",
                                                                 "Site network overlaps a site network of peer '%s'", o->name);
        }
        return 0;
}

static int on_flush(sd_event_source *s, void *userdata) {
        manager_flush_adds(userdata);
        return 0;
}

static int on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_flush_adds(userdata);
        return 0;
}

static void flush_hook(void *userdata) {
        manager_flush_adds(userdata);
}

int manager_group_commit_setup(Manager *m) {
        int r;

        /* The flush runs once the bus has nothing more to read (lower priority than the
         * bus), or 2 ms after the first queued call when the bus never runs dry. */
        r = sd_event_add_defer(m->event, &m->flush_defer, on_flush, m);
        if (r >= 0)
                r = sd_event_source_set_priority(m->flush_defer, SD_EVENT_PRIORITY_NORMAL + 10);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->flush_defer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &m->flush_timer, CLOCK_MONOTONIC, FLUSH_DELAY_USEC, 0,
                                               on_flush_timer, m);
        if (r >= 0)
                r = sd_event_source_set_priority(m->flush_timer, SD_EVENT_PRIORITY_NORMAL - 1);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->flush_timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        db_set_begin_hook(m->db, flush_hook, m);
        return 0;
}

void manager_group_commit_done(Manager *m) {
        manager_flush_adds(m);
        m->flush_defer = sd_event_source_disable_unref(m->flush_defer);
        m->flush_timer = sd_event_source_disable_unref(m->flush_timer);
}

/* No message queued in sd-bus and none waiting on the socket. */
static bool bus_nothing_to_read(sd_bus *bus) {
        uint64_t queued = 0;
        if (sd_bus_get_n_queued_read(bus, &queued) < 0 || queued > 0)
                return false;
        int fd = sd_bus_get_fd(bus);
        if (fd < 0)
                return false;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        return poll(&p, 1, 0) == 0;
}

int network_queue_add_peer(Network *n, sd_bus_message *msg, PeerSpec *spec, sd_bus_error *error) {
        Manager *m = n->manager;
        int r;

        if (!m->flush_defer) {
                /* no event loop (tests): at once */
                _cleanup_(freep) Peer **peers = NULL;
                char **configs = NULL;
                r = network_add_peers(n, spec, 1, &peers, &configs, error);
                if (r < 0)
                        return r;
                r = peer_reply_added(msg, peers[0], configs[0]);
                wg_wipe_free_string(configs[0]);
                free(configs);
                peer_specs_done(spec, 1);
                if (r < 0)
                        log_warning("%s: cannot answer the AddPeer of '%s': %s", n->name, peers[0]->name, strerror(-r));
                return 1;       /* added, and the specs are freed: the caller must not free them again */
        }
        r = pending_conflict(m, n, spec, error);
        if (r < 0)
                return r;
        PendingAdd *l = realloc(m->pending_adds, (m->n_pending_adds + 1) * sizeof(PendingAdd));
        if (!l)
                return -ENOMEM;
        m->pending_adds = l;
        l[m->n_pending_adds++] = (PendingAdd) { .message = sd_bus_message_ref(msg), .network_id = n->id,
                                                .spec = *spec };
        /* Nothing more to read: no other call can join the batch now, so it is committed at
         * once instead of one turn of the loop later (a single caller's case). */
        if (m->n_pending_adds >= PENDING_ADDS_MAX || bus_nothing_to_read(m->bus)) {
                manager_flush_adds(m);
                return 1;
        }
        if (m->n_pending_adds == 1) {
                (void) sd_event_source_set_enabled(m->flush_defer, SD_EVENT_ONESHOT);
                (void) sd_event_source_set_time_relative(m->flush_timer, FLUSH_DELAY_USEC);
                (void) sd_event_source_set_enabled(m->flush_timer, SD_EVENT_ONESHOT);
        }
        return 1;
}

static void reply_error(sd_bus_message *msg, int r, sd_bus_error *error) {
        if (sd_bus_error_is_set(error))
                (void) sd_bus_reply_method_error(msg, error);
        else
                (void) sd_bus_reply_method_errno(msg, r, NULL);
}

static void flush_one(Network *n, PendingAdd *p, PeerSpec *spec) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(freep) Peer **peers = NULL;
        char **configs = NULL;
        int r = network_add_peers(n, spec, 1, &peers, &configs, &error);
        if (r < 0) {
                reply_error(p->message, r, &error);
                return;
        }
        r = peer_reply_added(p->message, peers[0], configs[0]);
        if (r < 0)
                log_warning("Cannot reply to AddPeer: %s", strerror(-r));
        wg_wipe_free_string(configs[0]);
        free(configs);
}

/* The queued calls of one network (idx into list): one transaction for all of them; if it
 * fails, each alone, so that each caller gets its own answer as if it had been alone. */
static void flush_network(Manager *m, PendingAdd *list, const size_t *idx, size_t k) {
        uint64_t id = list[idx[0]].network_id;
        Network *n = hashmap_get(m->networks_by_id, &id);
        _cleanup_(freep) PeerSpec *specs = calloc(k, sizeof(PeerSpec));
        bool batch = k > 1 && specs;

        if (!n || !specs) {
                for (size_t j = 0; j < k; j++) {
                        if (n)
                                (void) sd_bus_reply_method_errno(list[idx[j]].message, ENOMEM, NULL);
                        else
                                (void) sd_bus_reply_method_errorf(list[idx[j]].message, WGNET_ERROR_PREFIX "NotFound",
                                                                  "The network was deleted");
                        peer_specs_done(&list[idx[j]].spec, 1);
                }
                return;
        }
        for (size_t j = 0; j < k; j++) {
                specs[j] = list[idx[j]].spec;
                /* network_add_peers takes the site networks: a failed batch could not be retried */
                if (specs[j].n_site_networks > 0)
                        batch = false;
        }
        if (batch) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(freep) Peer **peers = NULL;
                char **configs = NULL;
                if (network_add_peers(n, specs, k, &peers, &configs, &error) >= 0) {
                        for (size_t j = 0; j < k; j++) {
                                int r = peer_reply_added(list[idx[j]].message, peers[j], configs[j]);
                                if (r < 0)
                                        log_warning("Cannot reply to AddPeer: %s", strerror(-r));
                                wg_wipe_free_string(configs[j]);
                        }
                        free(configs);
                        peer_specs_done(specs, k);
                        return;
                }
                log_info("%s: a batch of %zu AddPeer calls failed (%s), each is done again alone", n->name, k,
                         error.message ? error.message : "no reason given");
        }
        for (size_t j = 0; j < k; j++)
                flush_one(n, &list[idx[j]], &specs[j]);
        peer_specs_done(specs, k);
}

void manager_flush_adds(Manager *m) {
        if (m->flushing || m->n_pending_adds == 0)
                return;
        m->flushing = true;
        PendingAdd *list = TAKE_PTR(m->pending_adds);
        size_t n = m->n_pending_adds;
        m->n_pending_adds = 0;
        (void) sd_event_source_set_enabled(m->flush_defer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(m->flush_timer, SD_EVENT_OFF);

        _cleanup_(freep) size_t *idx = calloc(n, sizeof(size_t));
        for (size_t i = 0; i < n; i++) {
                if (!list[i].message)
                        continue;
                size_t k = 0;
                if (idx) {
                        for (size_t j = i; j < n; j++)
                                if (list[j].message && list[j].network_id == list[i].network_id)
                                        idx[k++] = j;
                        flush_network(m, list, idx, k);
                } else {
                        size_t one = i;
                        k = 1;
                        flush_network(m, list, &one, 1);
                }
                for (size_t j = 0; j < k; j++) {
                        size_t x = idx ? idx[j] : i;
                        list[x].message = sd_bus_message_unref(list[x].message);
                }
        }
        free(list);
        m->flushing = false;
}
