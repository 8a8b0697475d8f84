/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

static void peer_spec_init(PeerSpec *s) {
        *s = (PeerSpec) { .opts = PEER_OPTIONS_INIT };
}

int peer_spec_read(sd_bus_message *m, PeerSpec *s, sd_bus_error *error) {
        peer_spec_init(s);
        int r = sd_bus_message_read(m, "s", &s->name);
        if (r < 0)
                return r;
        r = bus_read_options(m, s->opts, _PEEROPT_MAX, error);
        if (r < 0)
                return r;
        return peer_check_policy_options(s->opts, error);
}

void peer_specs_done(PeerSpec *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                bus_options_done(s[i].opts, _PEEROPT_MAX);
                free(s[i].addresses);
                free(s[i].site_networks);
        }
}

/* The subnet that holds host address a, or -1. */
static int peer_specs_check_one_by_one(Network *n, PeerSpec *specs, size_t n_specs, Peer *self, Hashmap *names,
                                       Hashmap *keys, Hashmap *addrs, char ***addr_strings, size_t *n_addr_strings,
                                       size_t *with_sites, size_t *n_with_sites, size_t *n_sites_total,
                                       sd_bus_error *error);

int peer_specs_check(Network *n, PeerSpec *specs, size_t n_specs, Peer *self, sd_bus_error *error) {
        /* Duplicates inside the batch through maps: a batch is checked before polkit, by
         * anyone, so its cost must stay linear. */
        _cleanup_(hashmap_freep) Hashmap *names = hashmap_new(string_hash_func, string_equal_func);
        _cleanup_(hashmap_freep) Hashmap *keys = hashmap_new(key32_hash_func, key32_equal_func);
        _cleanup_(hashmap_freep) Hashmap *addrs = hashmap_new(string_hash_func, string_equal_func);
        _cleanup_(strv_freep) char **addr_strings = NULL;
        size_t n_addr_strings = 0, *with_sites = NULL, n_with_sites = 0, n_sites_total = 0;
        int r;

        /* A mesh's peers are its members: they come and go through the mesh (daemon/mesh.c). */
        if (n->mode == NETWORK_MODE_MESH)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Network '%s' is a mesh: members join with an invitation "
                                         "(org.wgnet1.Mesh.CreateInvitation)", n->name);

        if (!names || !keys || !addrs)
                return -ENOMEM;
        if (n_specs > PEER_BATCH_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Too many peers in one call: %zu (at most %u)", n_specs, PEER_BATCH_MAX);
        with_sites = calloc(n_specs ? n_specs : 1, sizeof(size_t));
        if (!with_sites)
                return -ENOMEM;
        r = peer_specs_check_one_by_one(n, specs, n_specs, self, names, keys, addrs, &addr_strings,
                                        &n_addr_strings, with_sites, &n_with_sites, &n_sites_total, error);
        free(with_sites);
        return r;
}

static int peer_specs_check_one_by_one(Network *n, PeerSpec *specs, size_t n_specs, Peer *self, Hashmap *names,
                                       Hashmap *keys, Hashmap *addrs, char ***addr_strings, size_t *n_addr_strings,
                                       size_t *with_sites, size_t *n_with_sites, size_t *n_sites_total,
                                       sd_bus_error *error) {
        int r;

        for (size_t i = 0; i < n_specs; i++) {
                PeerSpec *s = &specs[i];
                BusOption *o = s->opts;

                if (o[PEEROPT_NAME].set)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                "Option 'Name' is not valid here: the name is the first argument");
                if (!peer_name_is_valid(s->name))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid peer name '%s': 1-64 printable characters, no leading or trailing blanks",
                                                 s->name);
                if (hashmap_get(n->peers_by_name, s->name))
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists",
                                                 "Peer '%s' already exists in network '%s'", s->name, n->name);
                if (hashmap_get(names, s->name))
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists",
                                                 "Peer '%s' is given twice", s->name);
                r = hashmap_put(names, s->name, s);
                if (r < 0)
                        return r;

                if (o[PEEROPT_PUBLIC_KEY].set) {
                        if (wg_key_from_base64(s->public_key, o[PEEROPT_PUBLIC_KEY].s) < 0)
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvalidKey",
                                                         "Invalid public key '%s': expected 44 characters of base64",
                                                         o[PEEROPT_PUBLIC_KEY].s);
                        if (wg_key_is_zero(s->public_key) || wg_key_equal(s->public_key, n->public_key))
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvalidKey",
                                                         "Public key '%s' cannot be used for a peer", o[PEEROPT_PUBLIC_KEY].s);
                        Peer *other = hashmap_get(n->peers_by_key, s->public_key);
                        if (other)
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists",
                                                         "Public key '%s' is already used by peer '%s'",
                                                         o[PEEROPT_PUBLIC_KEY].s, other->name);
                        other = hashmap_get(n->peers_by_pending_key, s->public_key);
                        if (other)
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists",
                                                         "Public key '%s' is the new key of peer '%s' (key rotation pending)",
                                                         o[PEEROPT_PUBLIC_KEY].s, other->name);
                        if (hashmap_get(keys, s->public_key))
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists",
                                                         "Public key '%s' is given twice", o[PEEROPT_PUBLIC_KEY].s);
                        r = hashmap_put(keys, s->public_key, s);
                        if (r < 0)
                                return r;
                        s->own_key = true;
                }

                free(s->addresses);
                s->addresses = NULL;
                s->n_addresses = 0;
                if (o[PEEROPT_ADDRESSES].set) {
                        r = peer_check_addresses(n, NULL, o[PEEROPT_ADDRESSES].as, s->auto_families,
                                                 &s->addresses, &s->n_addresses, error);
                        if (r < 0)
                                return r;
                } else
                        for (size_t k = 0; k < n->n_subnets; k++)
                                s->auto_families[n->subnets[k].family == AF_INET6] = true;
                for (size_t a = 0; a < s->n_addresses; a++) {
                        char buf[IP_PREFIX_STRLEN];
                        const char *text = ip_addr_to_string(&s->addresses[a], buf);
                        if (hashmap_get(addrs, text))
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse",
                                                         "Address '%s' is given to two peers", text);
                        char **nl = realloc(*addr_strings, (*n_addr_strings + 2) * sizeof(char *));
                        if (!nl)
                                return -ENOMEM;
                        *addr_strings = nl;
                        nl[*n_addr_strings] = strdup(text);
                        nl[*n_addr_strings + 1] = NULL;
                        if (!nl[*n_addr_strings])
                                return -ENOMEM;
                        r = hashmap_put(addrs, nl[(*n_addr_strings)++], s);
                        if (r < 0)
                                return r;
                }

                s->role = PEER_ROLE_CLIENT;
                if (o[PEEROPT_ROLE].set) {
                        r = peer_role_from_string(o[PEEROPT_ROLE].s);
                        if (r < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Invalid role '%s': expected client or site-gateway", o[PEEROPT_ROLE].s);
                        s->role = r;
                }
                if (o[PEEROPT_SITE_NETWORKS].set) {
                        if (s->role != PEER_ROLE_SITE_GATEWAY && strv_length(o[PEEROPT_SITE_NETWORKS].as) > 0)
                                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                        "SiteNetworks needs Role 'site-gateway'");
                        r = peer_check_site_networks(n, NULL, o[PEEROPT_SITE_NETWORKS].as, &s->site_networks,
                                                     &s->n_site_networks, error);
                        if (r < 0)
                                return r;
                        /* The pairs below are checked before polkit, by anyone: a bound on
                         * the call's site networks bounds them (4,096² / 2 comparisons). */
                        *n_sites_total += s->n_site_networks;
                        if (*n_sites_total > PEER_BATCH_SITE_NETWORKS_MAX)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Too many site networks in one call: more than %u",
                                                         PEER_BATCH_SITE_NETWORKS_MAX);
                        /* Overlaps need pairs: only among the (few) site gateways. */
                        for (size_t x = 0; x < *n_with_sites; x++) {
                                size_t j = with_sites[x];
                                for (size_t a = 0; a < s->n_site_networks; a++)
                                        for (size_t b = 0; b < specs[j].n_site_networks; b++)
                                                if (ip_prefix_overlaps(&s->site_networks[a], &specs[j].site_networks[b]))
                                                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse",
                                                                                 "Site network '%s' is given to two peers",
                                                                                 o[PEEROPT_SITE_NETWORKS].as[a]);
                        }
                        if (s->n_site_networks > 0)
                                with_sites[(*n_with_sites)++] = i;
                }
                if (o[PEEROPT_EMAIL].set && !email_is_valid(o[PEEROPT_EMAIL].s))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid email '%s'", o[PEEROPT_EMAIL].s);
                if (o[PEEROPT_REMOTE_ENDPOINT].set && !isempty(o[PEEROPT_REMOTE_ENDPOINT].s) &&
                    !endpoint_is_valid(o[PEEROPT_REMOTE_ENDPOINT].s))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid remote endpoint '%s': expected host:port or [IPv6]:port",
                                                 o[PEEROPT_REMOTE_ENDPOINT].s);
        }
        return 0;
}

/* The peer of spec s; its private key, when wgnet made one, in private_key (locked memory
 * of the caller's) with *have_private set. Its config is rendered later, by the caller. */
static int build_peer(Network *n, PeerSpec *s, uint64_t id, uint64_t now, Peer **ret, uint8_t private_key[WG_KEY_LEN],
                      bool *have_private, uint8_t *sealed_private, size_t *sealed_len, sd_bus_error *error) {
        Manager *m = n->manager;
        _cleanup_(peer_freep) Peer *p = NULL;
        uint8_t psk[WG_KEY_LEN];
        size_t len;
        int r;

        *have_private = false;

        r = peer_new(n, id, s->name, &p);
        if (r < 0)
                return r;
        p->network = n;
        if (s->opts[PEEROPT_EMAIL].set) {
                free(p->email);
                p->email = strdup(s->opts[PEEROPT_EMAIL].s);
                if (!p->email)
                        return -ENOMEM;
        }
        if (s->opts[PEEROPT_REMOTE_ENDPOINT].set) {
                free(p->remote_endpoint);
                p->remote_endpoint = strdup(s->opts[PEEROPT_REMOTE_ENDPOINT].s);
                if (!p->remote_endpoint)
                        return -ENOMEM;
        }
        p->role = s->role;
        p->keepalive = s->opts[PEEROPT_KEEPALIVE].set ? s->opts[PEEROPT_KEEPALIVE].q : PEER_DEFAULT_KEEPALIVE;
        p->enabled = s->opts[PEEROPT_ENABLED].set ? s->opts[PEEROPT_ENABLED].b : true;
        p->expires_at = s->opts[PEEROPT_EXPIRES_AT].set ? s->opts[PEEROPT_EXPIRES_AT].t : 0;
        peer_apply_policy_options(p, s->opts, NULL, NULL);
        p->created_at = p->updated_at = now;

        if (s->own_key)
                memcpy(p->public_key, s->public_key, WG_KEY_LEN);
        else {
                r = manager_take_keypair(m, private_key, p->public_key);
                if (r < 0)
                        return r;
                *have_private = true;
        }
        *sealed_len = 0;
        if (*have_private && n->key_policy == KEY_POLICY_STORED) {
                r = manager_seal(m, "peers.private_key", id, private_key, sealed_private, SEALED_KEY_SIZE, sealed_len);
                if (r < 0)
                        goto finish;
                p->private_key_stored = true;
        }
        if (!s->opts[PEEROPT_PRESHARED_KEY].set || s->opts[PEEROPT_PRESHARED_KEY].b) {
                r = wg_key_generate_preshared(psk);
                if (r >= 0)
                        r = manager_seal(m, "peers.preshared_key", id, psk, p->psk_sealed, sizeof(p->psk_sealed), &len);
                wg_wipe(psk, sizeof(psk));
                if (r < 0)
                        goto finish;
                p->has_psk = true;
        }

        /* Addresses: the explicit ones (reserved by the caller, for all peers of the call
         * before any automatic one), then one automatic address per requested family. */
        p->addresses = calloc(s->n_addresses + 2, sizeof(IpPrefix));
        if (!p->addresses) {
                r = -ENOMEM;
                goto finish;
        }
        if (s->n_addresses > 0)
                memcpy_safe(p->addresses, s->addresses, s->n_addresses * sizeof(IpPrefix));
        p->n_addresses = s->n_addresses;
        r = network_allocate_auto(n, s->auto_families, p->addresses, &p->n_addresses);
        if (r < 0) {
                char buf[IP_PREFIX_STRLEN];
                /* the automatic ones; the explicit ones are the caller's to release */
                network_release_addresses(n, p->addresses + s->n_addresses, p->n_addresses - s->n_addresses);
                p->n_addresses = 0;
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "SubnetFull", "Subnet %s of network '%s' is full",
                                      ip_prefix_to_string(&n->subnets[-r - 1], buf), n->name);
                goto finish;
        }
        if (s->n_site_networks > 0) {
                p->site_networks = TAKE_PTR(s->site_networks);
                p->n_site_networks = s->n_site_networks;
        }

        *ret = TAKE_PTR(p);
        r = 0;
finish:
        if (r < 0)
                wg_wipe(private_key, WG_KEY_LEN);
        return r;
}

/* A large batch goes to the device in chunks, each sent as soon as its peers are built, on a
 * connection of its own: the device applies chunk k while its rows are inserted and the
 * next ones are built (key generation, sealing, configs, rows). A chunk stays well inside a socket
 * buffer so that sending it does not wait for the device; at most about 32 chunks. */
#define DEVICE_CHUNK_MIN 256u
#define DEVICE_CHUNKS_MAX 32u

/* Send the enabled peers among peers[0..k) to the device; *ret_set is NULL when none is. */
static int device_send_chunk(Network *n, Peer **peers, size_t k, WgSetPending **ret_set) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        int r = wg_device_new(n->ifname, &d);
        if (r < 0)
                return r;
        for (size_t i = 0; i < k; i++) {
                if (!peers[i]->enabled)
                        continue;
                WgPeer *wp = wg_device_add_peer(d, peers[i]->public_key);
                if (!wp)
                        return -ENOMEM;
                r = peer_to_wg_peer(peers[i], wp);
                if (r < 0)
                        return r;
        }
        *ret_set = NULL;
        if (d->n_peers == 0)
                return 0;
        return wg_backend_set_device_begin(n->manager->backend, d, ret_set);
}

/* Read the answers of the chunks sent; the first error. */
static int device_finish_chunks(Manager *m, WgSetPending **sets, size_t n_sets) {
        int r = 0;
        for (size_t i = 0; i < n_sets; i++) {
                if (!sets[i])
                        continue;
                int k = wg_backend_set_device_finish(m->backend, TAKE_PTR(sets[i]));
                if (k < 0 && r >= 0)
                        r = k;
        }
        return r;
}

/* Take the enabled peers among peers[0..k) off the device again (after a failure). */
static void device_remove_peers(Network *n, Peer **peers, size_t k) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        if (wg_device_new(n->ifname, &d) < 0)
                return;
        for (size_t i = 0; i < k; i++) {
                if (!peers[i] || !peers[i]->enabled)
                        continue;
                WgPeer *wp = wg_device_add_peer(d, peers[i]->public_key);
                if (!wp)
                        return;
                wp->flags = WGPEER_REMOVE_ME;
        }
        if (d->n_peers > 0)
                (void) wg_backend_set_device(n->manager->backend, d);
}

#define PEER_KEYS_ON_STACK 16u

static void sodium_freep(uint8_t **p) {
        sodium_free(*p);        /* wipes it */
}

int network_add_peers(Network *n, PeerSpec *specs, size_t n_specs, Peer ***ret_peers, char ***ret_configs,
                      sd_bus_error *error) {
        Manager *m = n->manager;
        /* Without a device, one chunk: all peers built, then all rows inserted (built and
         * inserted in turns, the rows' pages would end up between the peers in the heap). */
        size_t chunk = n->active ? MAX(DEVICE_CHUNK_MIN, (n_specs + DEVICE_CHUNKS_MAX - 1) / DEVICE_CHUNKS_MAX)
                                 : MAX(n_specs, (size_t) 1);
        size_t max_sets = (n_specs + chunk - 1) / chunk;
        _cleanup_(freep) Peer **peers = calloc(n_specs + 1, sizeof(Peer *));
        _cleanup_(freep) uint8_t *sealed = malloc(n_specs * SEALED_KEY_SIZE + 1);
        _cleanup_(freep) size_t *sealed_len = calloc(n_specs + 1, sizeof(size_t));
        _cleanup_(freep) WgSetPending **sets = calloc(max_sets + 1, sizeof(WgSetPending *));
        _cleanup_(freep) bool *have_private = calloc(n_specs + 1, sizeof(bool));
        /* The private keys made here, until the configs are rendered: on the stack for a few
         * (wiped at the end, as the single key used to be), else locked and wiped when freed. */
        uint8_t few_keys[PEER_KEYS_ON_STACK * WG_KEY_LEN];
        _cleanup_(sodium_freep) uint8_t *locked_keys = n_specs > PEER_KEYS_ON_STACK ? sodium_malloc(n_specs * WG_KEY_LEN) : NULL;
        uint8_t *private_keys = n_specs > PEER_KEYS_ON_STACK ? locked_keys : few_keys;
        char **configs = calloc(n_specs + 1, sizeof(char *));
        uint64_t now = now_usec();
        size_t built = 0, sent = 0, n_sets = 0, reserved = 0;
        bool in_transaction = false, keep_addresses = false;
        int r;

        if (!peers || !sealed || !sealed_len || !sets || !have_private || !private_keys || !configs) {
                free(configs);
                return -ENOMEM;
        }
        /* Queued AddPeer calls first: they take peer ids and addresses too. */
        manager_flush_adds(m);

        /* Every explicit address first: an automatic one of an earlier peer must not take
         * the address a later one asks for. */
        for (; reserved < n_specs; reserved++) {
                r = network_reserve_addresses(n, specs[reserved].addresses, specs[reserved].n_addresses);
                if (r < 0) {
                        char buf[IP_PREFIX_STRLEN];
                        sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse", "Address '%s' is already in use",
                                          ip_addr_to_string(&specs[reserved].addresses[0], buf));
                        goto fail;
                }
        }

        r = db_begin(m->db);
        if (r < 0)
                goto fail;
        in_transaction = true;
        while (built < n_specs) {
                size_t first = built, last = MIN(n_specs, built + chunk);
                for (; built < last; built++) {
                        r = build_peer(n, &specs[built], m->next_peer_id + built, now, &peers[built],
                                       private_keys + built * WG_KEY_LEN, &have_private[built],
                                       sealed + built * SEALED_KEY_SIZE, &sealed_len[built], error);
                        if (r < 0)
                                goto fail;
                }
                /* The device first: it takes longer than the rows, which are inserted
                 * while it works (sequential AddPeer 1.03-1.06x). The checks before
                 * (names, keys, addresses by hash) are what the rows' constraints say; a
                 * failure below takes the chunks sent off the device again. */
                if (n->active) {
                        r = device_send_chunk(n, peers + first, last - first, &sets[n_sets]);
                        if (r < 0) {
                                /* Cut short on its way (wireguard-go applies a set line by
                                 * line): what it took goes off the device too. */
                                sent = last;
                                sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                  "Cannot add the peers to %s: %s", n->ifname, strerror(-r));
                                goto fail;
                        }
                        n_sets++;
                        sent = last;
                }
                for (size_t i = first; i < last; i++) {
                        r = db_peer_insert(m->db, peers[i], sealed_len[i] ? sealed + i * SEALED_KEY_SIZE : NULL,
                                           sealed_len[i]);
                        if (r < 0)
                                goto fail;
                }
        }
        /* The configs last, while the device works: kept until the reply, they then sit
         * together at the top of the heap instead of between the peers (10,000 in one
         * call: 29 MiB of resident memory afterwards instead of 20). */
        uint64_t reply_size = 0;
        for (size_t i = 0; i < n_specs; i++) {
                r = peer_render_config(peers[i], have_private[i] ? private_keys + i * WG_KEY_LEN : NULL, &configs[i]);
                wg_wipe(private_keys + i * WG_KEY_LEN, WG_KEY_LEN);
                if (r < 0)
                        goto fail;
                reply_size += strlen(configs[i]) + strlen(peers[i]->path) + 16;    /* (os): lengths, NULs, padding */
        }
        /* The reply must fit in one bus message (dbus-daemon's limit on the system bus: 32
         * MiB), or the caller gets no config for peers that exist, the keys of a one-time
         * network lost with them: refused before the commit instead. */
        if (reply_size > ADD_PEERS_REPLY_MAX) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                      "The configs of %zu peers take %" PRIu64 " MiB, more than one reply carries "
                                      "(%u MiB): add them in smaller calls", n_specs, reply_size >> 20,
                                      ADD_PEERS_REPLY_MAX >> 20);
                goto fail;
        }
        /* The commit's fsync runs while the device applies the peers. */
        r = db_commit(m->db);
        in_transaction = false;
        int k = device_finish_chunks(m, sets, n_sets);
        if (r < 0) {
                /* Not durable: take the peers off the device again. */
                db_rollback(m->db);
                device_remove_peers(n, peers, sent);
                goto fail;
        }
        if (k < 0) {
                /* Durable but refused by the device: take the rows out again. */
                sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed", "Cannot add the peers to %s: %s",
                                  n->ifname, strerror(-k));
                int q = db_begin(m->db);
                for (size_t i = 0; q >= 0 && i < n_specs; i++)
                        q = db_peer_delete(m->db, peers[i]->id);
                if (q >= 0)
                        q = db_commit(m->db);
                if (q < 0) {
                        /* Their rows and addresses stay taken: the next start loads them. */
                        db_rollback(m->db);
                        log_error("%s: %zu peers refused by the device stay in the database until the next start: %s",
                                  n->name, n_specs, strerror(-q));
                        keep_addresses = true;
                }
                /* Their ids were given (and recorded as deleted): never again, or a retry
                 * would reuse one that history_gone lists, and lose its new rows. */
                m->next_peer_id += n_specs;
                device_remove_peers(n, peers, sent);
                r = k;
                goto fail;
        }

        m->next_peer_id += n_specs;
        for (size_t i = 0; i < n_specs; i++) {
                Peer *p = peers[i];
                network_link_peer(n, p);
                if (p->enabled && p->n_site_networks > 0)
                        (void) network_apply_peer_routes(n, p, false);
                (void) sd_bus_emit_object_added(m->bus, p->path);
                (void) sd_bus_emit_signal(m->bus, n->path, WGNET_NETWORK_INTERFACE, "PeerAdded", "o", p->path);
                log_debug("%s: peer '%s' linked", n->name, p->name);
        }
        (void) network_emit_changed(n, "PeerCount", NULL);
        *ret_peers = TAKE_PTR(peers);
        *ret_configs = configs;
        return 0;

fail:
        wg_wipe(few_keys, sizeof(few_keys));
        if (in_transaction) {
                /* Chunks already sent: their answers first, then the peers off the device. */
                (void) device_finish_chunks(m, sets, n_sets);
                device_remove_peers(n, peers, sent);
                db_rollback(m->db);
        }
        for (size_t i = 0; i < built; i++) {
                if (peers[i] && !keep_addresses)
                        network_release_addresses(n, peers[i]->addresses, peers[i]->n_addresses);
                peer_free(peers[i]);
                wg_wipe_free_string(configs[i]);
        }
        /* the explicit addresses of the peers not built */
        for (size_t i = built; i < reserved; i++)
                network_release_addresses(n, specs[i].addresses, specs[i].n_addresses);
        free(configs);
        wg_wipe(sealed, n_specs * SEALED_KEY_SIZE);
        if (sd_bus_error_is_set(error))
                return r < 0 ? r : -EINVAL;
        return r == -EEXIST ? sd_bus_error_set(error, WGNET_ERROR_PREFIX "PeerExists", "Peer already exists") : r;
}

int peer_reply_added(sd_bus_message *m, Peer *p, const char *config) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        audit_log(m, AUDIT_PEER_ADDED, p->network, p, "%s: peer '%s' added", p->network->name, p->name);
        int r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "os", p->path, config);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}


#define POLICY_SECONDS_MAX (UINT64_C(10) * 366 * 24 * 3600)

int peer_check_policy_options(const BusOption *opts, sd_bus_error *error) {
        static const int seconds[] = { PEEROPT_ROTATION_INTERVAL, PEEROPT_REVOKE_INACTIVE, PEEROPT_GRACE_PERIOD };
        for (size_t i = 0; i < ELEMENTSOF(seconds); i++)
                if (opts[seconds[i]].set && opts[seconds[i]].t > POLICY_SECONDS_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid %s %" PRIu64 ": at most %" PRIu64 " seconds",
                                                 opts[seconds[i]].key, opts[seconds[i]].t, POLICY_SECONDS_MAX);
        /* A peer that would be live until the next tick's revocation. */
        if (opts[PEEROPT_EXPIRES_AT].set && opts[PEEROPT_EXPIRES_AT].t > 0 && opts[PEEROPT_EXPIRES_AT].t <= now_usec())
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid ExpiresAt %" PRIu64 ": it is in the past (0 for never)",
                                         opts[PEEROPT_EXPIRES_AT].t);
        if (opts[PEEROPT_ROTATION_KIND].set && !isempty(opts[PEEROPT_ROTATION_KIND].s) &&
            rotation_kind_from_string(opts[PEEROPT_ROTATION_KIND].s) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid RotationKind '%s': expected psk, keypair or '' (the network's)",
                                         opts[PEEROPT_ROTATION_KIND].s);
        return 0;
}

void peer_apply_policy_options(Peer *p, const BusOption *opts, const char **changed, size_t *k) {
        if (opts[PEEROPT_ROTATION_INTERVAL].set) {
                p->rotation_interval = (int64_t) opts[PEEROPT_ROTATION_INTERVAL].t;
                if (changed)
                        changed[(*k)++] = "RotationInterval";
        }
        if (opts[PEEROPT_ROTATION_KIND].set) {
                p->rotation_kind = isempty(opts[PEEROPT_ROTATION_KIND].s) ? -1
                                   : rotation_kind_from_string(opts[PEEROPT_ROTATION_KIND].s);
                if (changed)
                        changed[(*k)++] = "RotationKind";
        }
        if (opts[PEEROPT_REVOKE_INACTIVE].set) {
                p->revoke_inactive = (int64_t) opts[PEEROPT_REVOKE_INACTIVE].t;
                if (changed)
                        changed[(*k)++] = "RevokeAfterInactive";
        }
        if (opts[PEEROPT_GRACE_PERIOD].set) {
                p->grace_period = (int64_t) opts[PEEROPT_GRACE_PERIOD].t;
                if (changed)
                        changed[(*k)++] = "GracePeriod";
        }
}
