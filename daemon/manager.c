/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <net/if.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "audit.h"
#include "bus-util.h"
#include "db.h"
#include "log.h"
#include "firewall-sync.h"
#include "history.h"
#include "manager.h"
#include "network.h"
#include "peer-add.h"
#include "peer.h"
#include "polkit.h"
#include "rotation.h"
#include "mesh.h"
#include "tunnel.h"
#include "wgnet-error.h"

/* Every method that is not plain read access, with the polkit action that guards it.
 * A method missing here is denied (see manager_verify) and a test checks the table
 * against the vtables. */
const MethodAction method_actions[] = {
        { WGNET_MANAGER_INTERFACE, "CreateNetwork", "org.wgnet1.manage-networks" },
        { WGNET_MANAGER_INTERFACE, "ImportNetwork", "org.wgnet1.manage-networks" },
        { WGNET_NETWORK_INTERFACE, "Update", "org.wgnet1.manage-networks" },
        { WGNET_NETWORK_INTERFACE, "Activate", "org.wgnet1.manage-networks" },
        { WGNET_NETWORK_INTERFACE, "Deactivate", "org.wgnet1.manage-networks" },
        { WGNET_NETWORK_INTERFACE, "Delete", "org.wgnet1.manage-networks" },
        { WGNET_NETWORK_INTERFACE, "AddPeer", "org.wgnet1.manage-peers" },
        { WGNET_NETWORK_INTERFACE, "AddPeers", "org.wgnet1.manage-peers" },
        { WGNET_NETWORK_INTERFACE, "RemovePeer", "org.wgnet1.manage-peers" },
        { WGNET_NETWORK_INTERFACE, "Export", "org.wgnet1.read-secrets" },
        { WGNET_PEER_INTERFACE, "Update", "org.wgnet1.manage-peers" },
        { WGNET_PEER_INTERFACE, "Enable", "org.wgnet1.manage-peers" },
        { WGNET_PEER_INTERFACE, "Disable", "org.wgnet1.manage-peers" },
        { WGNET_PEER_INTERFACE, "Remove", "org.wgnet1.manage-peers" },
        /* Changes the peer (manage-peers) and replies with its new keys (read-secrets). */
        { WGNET_PEER_INTERFACE, "RotateKeys", "org.wgnet1.manage-peers", "org.wgnet1.read-secrets" },
        { WGNET_PEER_INTERFACE, "GetConfig", "org.wgnet1.read-secrets" },
        { WGNET_PEER_INTERFACE, "GetQRCode", "org.wgnet1.read-secrets" },
        { WGNET_MANAGER_INTERFACE, "CreateTunnel", "org.wgnet1.manage-networks" },
        { WGNET_MANAGER_INTERFACE, "ImportPairing", "org.wgnet1.manage-networks" },
        { WGNET_TUNNEL_INTERFACE, "Activate", "org.wgnet1.manage-networks" },
        { WGNET_TUNNEL_INTERFACE, "Deactivate", "org.wgnet1.manage-networks" },
        { WGNET_TUNNEL_INTERFACE, "Update", "org.wgnet1.manage-networks" },
        { WGNET_TUNNEL_INTERFACE, "Delete", "org.wgnet1.manage-networks" },
        /* GetPairing makes and stores a new offer (it replaces one still waiting). */
        { WGNET_TUNNEL_INTERFACE, "GetPairing", "org.wgnet1.read-secrets", "org.wgnet1.manage-networks" },
        /* Meshes (mesh-bus.c). CreateInvitation adds a peer and returns a secret. */
        { WGNET_MANAGER_INTERFACE, "JoinMesh", "org.wgnet1.manage-networks" },
        { WGNET_MESH_INTERFACE, "CreateInvitation", "org.wgnet1.manage-peers", "org.wgnet1.read-secrets" },
        { WGNET_MESH_INTERFACE, "RemoveMember", "org.wgnet1.manage-peers" },
        { WGNET_MESH_INTERFACE, "SetExitNode", "org.wgnet1.manage-networks" },
        { WGNET_MESH_INTERFACE, "UseExitNode", "org.wgnet1.manage-networks" },
        { WGNET_MESH_INTERFACE, "Update", "org.wgnet1.manage-networks" },
        { WGNET_MESH_INTERFACE, "Leave", "org.wgnet1.manage-networks" },
        /* Read access: no secrets, no changes. */
        { WGNET_MANAGER_INTERFACE, "GetNetworkByName", NULL },
        { WGNET_MANAGER_INTERFACE, "ListNetworks", NULL },
        { WGNET_NETWORK_INTERFACE, "NextAddresses", NULL },
        { WGNET_NETWORK_INTERFACE, "GetStats", NULL },
        { WGNET_PEER_INTERFACE, "GetTransferHistory", NULL },
        { WGNET_NETWORK_INTERFACE, "GetMetrics", NULL },
        { WGNET_NETWORK_INTERFACE, "GetMetricsColumns", NULL },
        { 0 }
};

const MethodAction *method_action_lookup(const char *interface, const char *member) {
        for (const MethodAction *a = method_actions; a->interface; a++)
                if (streq(a->interface, interface) && streq(a->member, member))
                        return a;
        return NULL;
}

int manager_verify(Manager *mgr, sd_bus_message *m, sd_bus_error *error) {
        const MethodAction *a = method_action_lookup(sd_bus_message_get_interface(m), sd_bus_message_get_member(m));
        /* Deny by default: a method without an action is refused. */
        const char *actions[] = { a ? a->action : NULL, a ? a->action2 : NULL };
        int r = polkit_verify_async_all(m, actions, actions[1] ? 2 : 1, mgr->polkit, error);
        /* Every other change, once authorized, starts from a state where the queued AddPeer
         * calls are committed. Not before: a caller waiting for polkit, or denied, does not
         * break up the authorized callers' batch. */
        if (r > 0 && !streq_ptr(sd_bus_message_get_member(m), "AddPeer"))
                manager_flush_adds(mgr);
        return r;
}

void manager_route_added(Manager *m, const char *ifname, const IpPrefix *dst, int r) {
        char key[IFNAMSIZ + IP_PREFIX_STRLEN + 1], buf[IP_PREFIX_STRLEN];

        if (r != -EADDRINUSE && hashmap_size(m->route_conflicts) == 0)
                return;
        snprintf(key, sizeof(key), "%s %s", ifname, ip_prefix_to_string(dst, buf));
        bool logged = hashmap_get(m->route_conflicts, key);
        if (r == -EADDRINUSE && !logged) {
                log_warning("%s: no route to %s: another interface of this host routes it already", ifname, buf);
                char *k = strdup(key);
                if (k && hashmap_put(m->route_conflicts, k, k) < 0)
                        free(k);
        } else if (r >= 0 && logged) {
                free(hashmap_remove(m->route_conflicts, key));
                log_notice("%s: route to %s added", ifname, buf);
        }
}

void manager_flush_adds_if_allowed(Manager *mgr, sd_bus_message *m) {
        if (polkit_will_allow(m, mgr->polkit))
                manager_flush_adds(mgr);
}

int manager_new(const ManagerConfig *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = calloc(1, sizeof(Manager));
        int r;

        if (!m)
                return -ENOMEM;
        m->lock_fd = -EBADF;
        m->config.state_dir = strdup(config->state_dir);
        m->config.tick_usec = config->tick_usec;
        m->config.backend = config->backend;
        m->config.firewall = config->firewall;
        m->config.history_fine_days = config->history_fine_days;
        m->config.history_coarse_days = config->history_coarse_days;
        m->firewall_enabled = config->firewall != 0;
        m->firewall_remove_stale = !m->firewall_enabled;
        if (config->userspace_binary)
                m->config.userspace_binary = strdup(config->userspace_binary);
        m->networks_by_id = hashmap_new(uint64_hash_func, uint64_equal_func);
        m->networks_by_name = hashmap_new(string_hash_func, string_equal_func);
        m->peers_by_id = hashmap_new(uint64_hash_func, uint64_equal_func);
        m->tunnels_by_id = hashmap_new(uint64_hash_func, uint64_equal_func);
        m->route_conflicts = hashmap_new(string_hash_func, string_equal_func);
        m->polkit = polkit_registry_new();
        if (!m->config.state_dir || !m->networks_by_id || !m->networks_by_name || !m->peers_by_id || !m->tunnels_by_id || !m->route_conflicts ||
            !m->polkit)
                return -ENOMEM;
        (void) sodium_mlock(m->secret_key, sizeof(m->secret_key));
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        manager_group_commit_done(m);
        manager_key_pool_done(m);
        audit_forget_callers();
        m->trim_source = sd_event_source_disable_unref(m->trim_source);
        Network *n;
        /* Networks own their peers; collect first, the map cannot change while iterating. */
        while (hashmap_size(m->networks_by_id) > 0) {
                size_t i = 0;
                if (!hashmap_iterate(m->networks_by_id, &i, (void **) &n, NULL))
                        break;
                network_detach(n);
                network_free(n);
        }
        hashmap_free(m->networks_by_id);
        hashmap_free(m->networks_by_name);
        hashmap_free(m->peers_by_id);
        manager_free_tunnels(m);
        char *conflict;
        HASHMAP_FOREACH(conflict, m->route_conflicts, it)
                free(conflict);         /* key and value: the same string */
        hashmap_free(m->route_conflicts);
        polkit_registry_free(m->polkit);
        sd_event_source_unref(m->tick_source);
        sd_event_source_unref(m->rotation_source);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        history_free(m->history);
        db_close(m->db);
        if (m->lock_fd >= 0)
                close(m->lock_fd);
        wg_backend_free(m->backend);
        sodium_munlock(m->secret_key, sizeof(m->secret_key));
        free(m->config.state_dir);
        free(m->config.userspace_binary);
        free(m->firewall_applied);
        free(m->firewall_failed);
        free(m);
        return NULL;
}

static int make_ad(char *buf, size_t size, const char *what, uint64_t id) {
        int k = snprintf(buf, size, "wgnet:%s:%" PRIu64, what, id);
        return k > 0 && (size_t) k < size ? k : -ENAMETOOLONG;
}

int manager_seal(Manager *m, const char *what, uint64_t id, const uint8_t secret[32],
                 uint8_t *out, size_t out_size, size_t *ret_len) {
        char ad[96];
        int k = make_ad(ad, sizeof(ad), what, id);
        if (k < 0)
                return k;
        return secretbox_seal(m->secret_key, secret, 32, ad, (size_t) k, out, out_size, ret_len);
}

int manager_open(Manager *m, const char *what, uint64_t id, const uint8_t *blob, size_t len,
                 uint8_t ret_secret[32]) {
        char ad[96];
        size_t out_len;
        int k = make_ad(ad, sizeof(ad), what, id);
        if (k < 0)
                return k;
        int r = secretbox_open(m->secret_key, blob, len, ad, (size_t) k, ret_secret, 32, &out_len);
        if (r < 0)
                return r;
        return out_len == 32 ? 0 : -EBADMSG;
}

Network *manager_find_network_by_path(Manager *m, const char *path) {
        const char *s;
        uint64_t id;
        char *end;

        if (strncmp(path, WGNET_NETWORK_PREFIX "/", strlen(WGNET_NETWORK_PREFIX "/")) != 0)
                return NULL;
        s = path + strlen(WGNET_NETWORK_PREFIX "/");
        if (*s < '1' || *s > '9')
                return NULL;
        errno = 0;
        id = strtoull(s, &end, 10);
        if (errno || *end)
                return NULL;
        return hashmap_get(m->networks_by_id, &id);
}

Peer *manager_find_peer_by_path(Manager *m, const char *path) {
        const char *s;
        uint64_t id;
        char *end;

        if (strncmp(path, WGNET_PEER_PREFIX "/", strlen(WGNET_PEER_PREFIX "/")) != 0)
                return NULL;
        s = path + strlen(WGNET_PEER_PREFIX "/");
        if (*s < '1' || *s > '9')
                return NULL;
        errno = 0;
        id = strtoull(s, &end, 10);
        if (errno || *end)
                return NULL;
        return hashmap_get(m->peers_by_id, &id);
}

/* The key is created only for a database that holds nothing sealed yet: a new key for a
 * database sealed with a lost one would open none of its keys, and seal new ones that the
 * old key, once found again, would not open. */
static int load_secret_key(Manager *m, bool create) {
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_(freep) char *path = NULL;
        int r;

        if (creds) {
                if (asprintf(&path, "%s/wgnet-secret-key", creds) < 0)
                        return -ENOMEM;
                if (access(path, F_OK) == 0) {
                        r = secretbox_key_load(path, false, m->secret_key);
                        if (r < 0)
                                log_error("Cannot use credential %s: %s", path, strerror(-r));
                        return r;
                }
                free(path);
                path = NULL;
        }
        if (asprintf(&path, "%s/secret.key", m->config.state_dir) < 0)
                return -ENOMEM;
        r = secretbox_key_load(path, create, m->secret_key);
        if (r == -ENOENT)
                log_error("The database holds keys sealed with %s, which is missing: restore it from your "
                          "backup (or give it as the credential wgnet-secret-key). A new key would open none "
                          "of them.", path);
        else if (r < 0)
                log_error("Cannot load or create %s: %s", path, strerror(-r));
        return r;
}

#define KEY_CHECK "key_check"

/* Does the key open what the database holds? A sealed check value, made by the first start
 * with this code (from a network's or tunnel's private key that opened), says so at once. */
static int verify_secret_key(Manager *m) {
        _cleanup_(freep) uint8_t *blob = NULL;
        uint8_t secret[32];
        size_t len = 0;
        int r;

        r = db_meta_get(m->db, KEY_CHECK, &blob, &len);
        if (r >= 0) {
                r = manager_open(m, "meta.key_check", 0, blob, len, secret);
                wg_wipe(secret, sizeof(secret));
                if (r < 0)
                        log_error("The secret key does not open this database's keys: the database was sealed "
                                  "with another key. Restore the key that belongs to it.");
                return r;
        }
        if (r != -ENOENT)
                return r;
        /* Older databases: the first network's and the first tunnel's private key must open. */
        Network *n = NULL;
        Tunnel *t = NULL;
        size_t i = 0, k = 0;
        (void) hashmap_iterate(m->networks_by_id, &i, (void **) &n, NULL);
        (void) hashmap_iterate(m->tunnels_by_id, &k, (void **) &t, NULL);
        for (int which = 0; which < 2; which++) {
                if (which == 0 ? !n : !t)
                        continue;
                r = which == 0 ? network_private_key(n, secret) : tunnel_private_key(t, secret);
                wg_wipe(secret, sizeof(secret));
                if (r < 0) {
                        log_error("The secret key does not open the private key of %s '%s': the database was sealed "
                                  "with another key. Restore the key that belongs to it.",
                                  which == 0 ? "network" : "tunnel", which == 0 ? n->name : t->name);
                        return r;
                }
        }
        uint8_t sealed[SEALED_KEY_SIZE];
        randombytes_buf(secret, sizeof(secret));
        r = manager_seal(m, "meta.key_check", 0, secret, sealed, sizeof(sealed), &len);
        wg_wipe(secret, sizeof(secret));
        if (r >= 0)
                r = db_meta_set(m->db, KEY_CHECK, sealed, len);
        if (r < 0)
                log_error("Cannot record the secret key's check value: %s", strerror(-r));
        return r;
}

static int on_trim(sd_event_source *s, void *userdata) {
        (void) malloc_trim(0);
        return 0;
}

void manager_trim_memory_later(Manager *m) {
        /* A bulk's specs, configs, reply and SQLite's pages are freed by then, but glibc
         * keeps the pages between live allocations: a long-lived daemon gives them back. */
        if (!m->event)
                return;
        if (!m->trim_source) {
                if (sd_event_add_defer(m->event, &m->trim_source, on_trim, m) < 0)
                        return;
                (void) sd_event_source_set_priority(m->trim_source, SD_EVENT_PRIORITY_IDLE + 1);
        }
        (void) sd_event_source_set_enabled(m->trim_source, SD_EVENT_ONESHOT);
}

void manager_reconcile_all(Manager *m, bool log_repairs) {
        Network *n;
        HASHMAP_FOREACH(n, m->networks_by_id, i) {
                if (!n->active)
                        continue;
                int r = network_apply(n, log_repairs);
                if (r < 0)
                        log_warning("%s: cannot reconcile the device: %s", n->ifname, strerror(-r));
        }
        manager_reconcile_tunnels(m, log_repairs);
        manager_mesh_tick(m);
        (void) manager_firewall_sync(m, false);
}

void manager_stop(Manager *m) {
        if (m->history && history_stop(m->history, now_usec(), now_boottime_usec()) < 0)
                log_warning("Cannot write the transfer history at the stop; the next start counts those bytes");
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        (void) wg_backend_reap(m->backend);
        manager_reconcile_all(m, true);
        if (m->history) {
                int r = history_sample(m->history, now_usec(), now_boottime_usec());
                if (r < 0)
                        log_warning("Cannot record the transfer history: %s", strerror(-r));
        }
        manager_policy_tick(m);
        polkit_registry_gc(m->polkit);
        (void) manager_rotation_timer_update(m);
        (void) sd_event_source_set_time(s, usec + m->config.tick_usec);
        return 0;
}

/* <state>/creating/IFNAME exists while a creation (CreateNetwork, ImportNetwork,
 * CreateTunnel, ImportPairing, JoinMesh) brings up an interface and has not
 * committed its network yet (written and synced before the device step). */
int manager_creating_interface(Manager *m, const char *ifname, bool creating) {
        _cleanup_(freep) char *dir = NULL, *path = NULL;

        if (asprintf(&dir, "%s/creating", m->config.state_dir) < 0 || asprintf(&path, "%s/%s", dir, ifname) < 0)
                return -ENOMEM;
        if (!creating)
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        _cleanup_(closep) int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        _cleanup_(closep) int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return -errno;
        return 0;
}

/* Interfaces a CreateNetwork, CreateTunnel or JoinMesh brought up before a crash, without
 * committing: no network or tunnel owns them, they go. */
static void remove_unfinished_creations(Manager *m) {
        _cleanup_(freep) char *dir = NULL;
        if (asprintf(&dir, "%s/creating", m->config.state_dir) < 0)
                return;
        DIR *d = opendir(dir);
        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                const char *ifname = de->d_name;
                if (ifname[0] == '.')
                        continue;
                bool owned = manager_ifname_in_use(m, ifname, NULL);
                if (!owned && wg_backend_exists(m->backend, ifname)) {
                        int r = wg_backend_delete(m->backend, ifname);
                        if (r < 0 && r != -ENODEV)
                                log_warning("Cannot remove interface %s, left by a creation that did not finish "
                                            "(CreateNetwork, CreateTunnel, JoinMesh): %s", ifname, strerror(-r));
                        else
                                log_notice("Removed interface %s, left by a creation that did not finish "
                                           "(CreateNetwork, CreateTunnel, JoinMesh)", ifname);
                }
                (void) manager_creating_interface(m, ifname, false);
        }
        closedir(d);
}

/* The state directory holds the key to every stored secret: it must be a directory of
 * wgnetd's own user that no one else may write to (a --state-dir that exists already, say,
 * where another user could have put a key of their own). */
static int check_state_dir(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0) {
                log_error("Cannot use %s: %s", path, strerror(errno));
                return -errno;
        }
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                log_error("Refusing the state directory %s: it must be a directory of uid %u that others "
                          "cannot write to (chown %u %s; chmod 0700 %s)",
                          path, (unsigned) geteuid(), (unsigned) geteuid(), path, path);
                return -EPERM;
        }
        return 0;
}

/* One wgnetd per state directory, and one on the bus: a second one started by hand (say
 * `wgnetd --debug` next to the service) would otherwise remove interfaces the first is
 * creating, and peers it has sent to a device but not committed yet, before it found the
 * bus name taken. Both are checked before anything is touched. */
int manager_lock_state_dir(const char *state_dir, int *ret_fd) {
        _cleanup_(freep) char *path = NULL;
        char buf[32] = "";
        if (asprintf(&path, "%s/lock", state_dir) < 0)
                return -ENOMEM;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                log_error("Cannot open %s: %s", path, strerror(errno));
                return -errno;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                ssize_t k = pread(fd, buf, sizeof(buf) - 1, 0);
                buf[k > 0 ? k : 0] = 0;
                buf[strcspn(buf, "\n")] = 0;
                if (e == EWOULDBLOCK)
                        log_error("Another wgnetd (PID %s) uses the state directory %s: stop wgnetd first",
                                  isempty(buf) ? "?" : buf, state_dir);
                else
                        log_error("Cannot lock %s: %s", path, strerror(e));
                close(fd);
                return -(e == EWOULDBLOCK ? EBUSY : e);
        }
        int k = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t) k, 0) != k)
                log_warning("Cannot write the PID into %s: %s", path, strerror(errno));
        *ret_fd = fd;
        return 0;
}

static int check_bus_name_free(Manager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int owned = 0;
        int r = sd_bus_open_system(&m->bus);
        if (r < 0) {
                log_error("Cannot connect to the system bus: %s", strerror(-r));
                return r;
        }
        r = sd_bus_call_method(m->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", WGNET_BUS_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &owned);
        if (r < 0 || !owned)
                return 0;       /* requesting the name says the rest */
        uint32_t pid = 0;
        reply = sd_bus_message_unref(reply);
        if (sd_bus_call_method(m->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionUnixProcessID", &error, &reply, "s", WGNET_BUS_NAME) >= 0)
                (void) sd_bus_message_read(reply, "u", &pid);
        log_error("%s is owned by another process (PID %" PRIu32 "): another wgnetd runs on this bus", WGNET_BUS_NAME,
                  pid);
        return -EBUSY;
}

int manager_start(Manager *m) {
        _cleanup_(freep) char *db_path = NULL;
        WgBackendOptions bopts = { .userspace_binary = m->config.userspace_binary, .userspace_log_fd = -1 };
        uint64_t now;
        int r;

        if (mkdir(m->config.state_dir, 0700) < 0 && errno != EEXIST) {
                log_error("Cannot create %s: %s", m->config.state_dir, strerror(errno));
                return -errno;
        }
        r = check_state_dir(m->config.state_dir);
        if (r >= 0)
                r = manager_lock_state_dir(m->config.state_dir, &m->lock_fd);
        if (r >= 0)
                r = check_bus_name_free(m);
        if (r < 0)
                return r;

        if (asprintf(&db_path, "%s/wgnet.db", m->config.state_dir) < 0)
                return -ENOMEM;
        r = db_open(db_path, &m->db);
        if (r < 0) {
                log_error("Cannot open the database %s: %s", db_path,
                          r == -EPROTONOSUPPORT ? "written by a newer wgnetd" : strerror(-r));
                return r;
        }
        r = db_holds_sealed(m->db);
        if (r >= 0)
                r = load_secret_key(m, r == 0);
        if (r < 0)
                return r;
        r = manager_group_commit_setup(m);
        if (r >= 0)
                r = manager_key_pool_setup(m);
        if (r < 0)
                return r;
        r = db_max_ids(m->db, &m->next_network_id, &m->next_peer_id);
        if (r < 0)
                return r;
        m->next_network_id++;
        m->next_peer_id++;
        r = db_load(m->db, m);
        if (r >= 0)
                r = manager_load_tunnels(m);
        if (r < 0) {
                log_error("Cannot load the database: %s", strerror(-r));
                return r;
        }
        r = verify_secret_key(m);
        if (r < 0)
                return r;
        r = history_new(m, &m->history);
        if (r < 0) {
                log_error("Cannot set up the transfer history: %s", strerror(-r));
                return r;
        }

        r = wg_backend_new(m->config.backend, &bopts, &m->backend);
        if (r < 0) {
                log_error("Cannot set up the %s WireGuard backend: %s",
                          wg_backend_type_to_string(m->config.backend), strerror(-r));
                return r;
        }
        log_info("Using the %s WireGuard backend", wg_backend_type_to_string(wg_backend_type(m->backend)));

        remove_unfinished_creations(m);
        manager_remove_inactive_tunnel_devices(m);
        /* The firewall first: isolation and the drops between networks hold before any
         * device forwards (the ruleset needs only names and subnets). */
        (void) manager_firewall_sync(m, true);
        /* Bring the devices to what the database says before taking the name. */
        m->started_at_boottime = now_boottime_usec();
        manager_reconcile_all(m, true);
        /* The transfer history's baseline: the counters recorded before the stop, checked against
         * the devices' as found at the start. */
        r = history_sample(m->history, now_usec(), now_boottime_usec());
        if (r < 0)
                log_warning("Cannot record the transfer history: %s", strerror(-r));

        r = manager_bus_register(m);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r < 0)
                return r;
        r = sd_bus_request_name(m->bus, WGNET_BUS_NAME, 0);
        if (r < 0) {
                log_error("Cannot own %s: %s", WGNET_BUS_NAME, strerror(-r));
                return r;
        }

        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_add_time(m->event, &m->tick_source, CLOCK_MONOTONIC, now + m->config.tick_usec,
                              100 * 1000, on_tick, m);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(m->tick_source, SD_EVENT_ON);
        if (r < 0)
                return r;

        r = manager_rotation_timer_update(m);
        if (r < 0)
                return r;

        log_info("wgnetd " WGNET_VERSION " ready: %zu networks, %zu peers",
                 hashmap_size(m->networks_by_id), hashmap_size(m->peers_by_id));
        manager_trim_memory_later(m);      /* after the first reconcile, which may have set every peer */
        (void) sd_notify(false, "READY=1\nSTATUS=Running");
        return 0;
}
