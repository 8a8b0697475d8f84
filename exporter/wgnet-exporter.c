/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnet-exporter: Prometheus metrics of wgnetd, one process per scrape.
 *
 * Started by systemd for each connection (wgnet-exporter.socket, Accept=yes) with the
 * connection on stdin and stdout: reads one HTTP request, answers GET /metrics with the text
 * exposition format, exits. It runs unprivileged and asks the daemon over the system bus,
 * like any client: one GetManagedObjects for the names, keys and state of every network
 * and peer, then one GetStats per network for the counters. Nothing here needs polkit: no
 * secret is read.
 *
 *   wgnet-exporter            serve one HTTP request on stdin/stdout
 *   wgnet-exporter --stdout   print the metrics and exit (tests, debugging) */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "hashmap.h"
#include "macro.h"
#include "wgnet-error.h"

#define REQUEST_MAX 8192
#define REQUEST_TIMEOUT_MS 5000

typedef struct ExNetwork {
        char *path, *name, *ifname;
        bool active;
        uint32_t n_peers, n_online, n_rotation;
} ExNetwork;

typedef struct ExPeer {
        char *path, *network, *name, *public_key, *allowed_ips;
        bool enabled, online, rotation_pending;
        uint64_t last_handshake, rx, tx;
} ExPeer;

typedef struct Exporter {
        ExNetwork *networks;
        size_t n_networks;
        ExPeer *peers;
        size_t n_peers;
        Hashmap *peers_by_path;
} Exporter;

static uint64_t mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static void exporter_done(Exporter *e) {
        for (size_t i = 0; i < e->n_networks; i++) {
                free(e->networks[i].path);
                free(e->networks[i].name);
                free(e->networks[i].ifname);
        }
        for (size_t i = 0; i < e->n_peers; i++) {
                free(e->peers[i].path);
                free(e->peers[i].network);
                free(e->peers[i].name);
                free(e->peers[i].public_key);
                free(e->peers[i].allowed_ips);
        }
        free(e->networks);
        free(e->peers);
        hashmap_free(e->peers_by_path);
}

/* Read a variant holding "s" or "o" into *dst. */
static int read_variant_string(sd_bus_message *m, const char *type, char **dst) {
        const char *s;
        int r = sd_bus_message_enter_container(m, 'v', type);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(m, type[0], &s);
        if (r < 0)
                return r;
        free(*dst);
        *dst = strdup(s);
        if (!*dst)
                return -ENOMEM;
        return sd_bus_message_exit_container(m);
}

static int read_variant_basic(sd_bus_message *m, char type, void *ret) {
        char sig[2] = { type, 0 };
        int r = sd_bus_message_enter_container(m, 'v', sig);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(m, type, ret);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_variant_bool(sd_bus_message *m, bool *ret) {
        int b, r = read_variant_basic(m, 'b', &b);
        if (r >= 0)
                *ret = b;
        return r;
}

/* "as" joined by ','. */
static int read_variant_strv_joined(sd_bus_message *m, char **dst) {
        _cleanup_(freep) char *joined = strdup("");
        const char *s;
        int r;

        if (!joined)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, 's', &s)) > 0) {
                char *n;
                if (asprintf(&n, "%s%s%s", joined, *joined ? "," : "", s) < 0)
                        return -ENOMEM;
                free(joined);
                joined = n;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        free(*dst);
        *dst = TAKE_PTR(joined);
        return 0;
}

static int read_network(sd_bus_message *m, ExNetwork *n) {
        const char *prop;
        int r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read_basic(m, 's', &prop);
                if (r < 0)
                        return r;
                if (streq(prop, "Name"))
                        r = read_variant_string(m, "s", &n->name);
                else if (streq(prop, "Interface"))
                        r = read_variant_string(m, "s", &n->ifname);
                else if (streq(prop, "Active"))
                        r = read_variant_bool(m, &n->active);
                else if (streq(prop, "PeerCount"))
                        r = read_variant_basic(m, 'u', &n->n_peers);
                else if (streq(prop, "OnlinePeerCount"))
                        r = read_variant_basic(m, 'u', &n->n_online);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return r;
}

static int read_peer(sd_bus_message *m, ExPeer *p) {
        const char *prop;
        int r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read_basic(m, 's', &prop);
                if (r < 0)
                        return r;
                if (streq(prop, "Network"))
                        r = read_variant_string(m, "o", &p->network);
                else if (streq(prop, "Name"))
                        r = read_variant_string(m, "s", &p->name);
                else if (streq(prop, "PublicKey"))
                        r = read_variant_string(m, "s", &p->public_key);
                else if (streq(prop, "AllowedIPs"))
                        r = read_variant_strv_joined(m, &p->allowed_ips);
                else if (streq(prop, "Enabled"))
                        r = read_variant_bool(m, &p->enabled);
                else if (streq(prop, "RotationPending"))
                        r = read_variant_bool(m, &p->rotation_pending);
                else if (streq(prop, "Online"))
                        r = read_variant_bool(m, &p->online);
                else if (streq(prop, "LastHandshake"))
                        r = read_variant_basic(m, 't', &p->last_handshake);
                else if (streq(prop, "RxBytes"))
                        r = read_variant_basic(m, 't', &p->rx);
                else if (streq(prop, "TxBytes"))
                        r = read_variant_basic(m, 't', &p->tx);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return r;
}

static int grow(void **array, size_t n, size_t size) {
        if (n & (n - 1))
                return 0;       /* capacity is the next power of two */
        void *a = realloc(*array, (n ? n * 2 : 16) * size);
        if (!a)
                return -ENOMEM;
        *array = a;
        return 0;
}

static int load_objects(sd_bus *bus, Exporter *e) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(bus, WGNET_BUS_NAME, WGNET_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &error, &reply, NULL);
        if (r < 0) {
                fprintf(stderr, "GetManagedObjects: %s\n", error.message ? error.message : strerror(-r));
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                const char *iface;
                r = sd_bus_message_read_basic(reply, 'o', &path);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                if (r < 0)
                        return r;
                while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        r = sd_bus_message_read_basic(reply, 's', &iface);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
                        if (r < 0)
                                return r;
                        if (streq(iface, WGNET_NETWORK_INTERFACE)) {
                                r = grow((void **) &e->networks, e->n_networks, sizeof(ExNetwork));
                                if (r < 0)
                                        return r;
                                ExNetwork *n = &e->networks[e->n_networks++];
                                *n = (ExNetwork) { .path = strdup(path) };
                                if (!n->path)
                                        return -ENOMEM;
                                r = read_network(reply, n);
                        } else if (streq(iface, WGNET_PEER_INTERFACE)) {
                                r = grow((void **) &e->peers, e->n_peers, sizeof(ExPeer));
                                if (r < 0)
                                        return r;
                                ExPeer *p = &e->peers[e->n_peers++];
                                *p = (ExPeer) { .path = strdup(path) };
                                if (!p->path)
                                        return -ENOMEM;
                                r = read_peer(reply, p);
                        } else
                                r = sd_bus_message_skip(reply, NULL);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(reply);       /* a{sv} */
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);       /* e */
                        if (r < 0)
                                return r;
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        /* Index the peers by path for the GetStats answers (the array no longer moves). */
        e->peers_by_path = hashmap_new(string_hash_func, string_equal_func);
        if (!e->peers_by_path)
                return -ENOMEM;
        for (size_t i = 0; i < e->n_peers; i++) {
                r = hashmap_put(e->peers_by_path, e->peers[i].path, &e->peers[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* GetStats() → a(otttbs): peer, last handshake µs, rx, tx, online, endpoint. */
static int load_stats(sd_bus *bus, Exporter *e, ExNetwork *n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path, *endpoint;
        uint64_t hs, rx, tx;
        int online, r;

        if (!n->active)
                return 0;
        r = sd_bus_call_method(bus, WGNET_BUS_NAME, n->path, WGNET_NETWORK_INTERFACE, "GetStats", &error, &reply, NULL);
        if (r < 0) {
                fprintf(stderr, "%s: GetStats: %s\n", n->path, error.message ? error.message : strerror(-r));
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(otttbs)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(otttbs)", &path, &hs, &rx, &tx, &online, &endpoint)) > 0) {
                ExPeer *p = hashmap_get(e->peers_by_path, path);
                if (!p)
                        continue;       /* added since GetManagedObjects: next scrape */
                p->last_handshake = hs;
                p->rx = rx;
                p->tx = tx;
                p->online = online;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

/* Label values: backslash, double quote and newline escaped. */
static void put_label(FILE *f, const char *name, const char *value, bool first) {
        fprintf(f, "%s%s=\"", first ? "" : ",", name);
        for (const char *c = value ? value : ""; *c; c++) {
                if (*c == '\\')
                        fputs("\\\\", f);
                else if (*c == '"')
                        fputs("\\\"", f);
                else if (*c == '\n')
                        fputs("\\n", f);
                else
                        fputc(*c, f);
        }
        fputc('"', f);
}

static ExNetwork *network_of(Exporter *e, const ExPeer *p) {
        for (size_t i = 0; i < e->n_networks; i++)
                if (streq_ptr(e->networks[i].path, p->network))
                        return &e->networks[i];
        return NULL;
}

typedef enum PeerSeries {
        SERIES_RX,
        SERIES_TX,
        SERIES_HANDSHAKE,
        SERIES_ONLINE,
        SERIES_ENABLED,
        SERIES_ROTATION,
        _SERIES_MAX,
} PeerSeries;

static const struct {
        const char *name, *type, *help;
} peer_series[_SERIES_MAX] = {
        [SERIES_RX] = { "wireguard_received_bytes_total", "counter", "Bytes received from the peer." },
        [SERIES_TX] = { "wireguard_sent_bytes_total", "counter", "Bytes sent to the peer." },
        [SERIES_HANDSHAKE] = { "wireguard_latest_handshake_seconds", "gauge",
                               "Seconds since the epoch of the latest handshake with the peer (0: never)." },
        [SERIES_ONLINE] = { "wgnet_peer_online", "gauge",
                            "1 when the peer's latest handshake is within the network's online threshold." },
        [SERIES_ENABLED] = { "wgnet_peer_enabled", "gauge", "1 when the peer is enabled." },
        [SERIES_ROTATION] = { "wgnet_peer_rotation_pending", "gauge",
                              "1 while a key rotation of the peer waits for its new key." },
};

static void write_peer_series(FILE *f, Exporter *e, PeerSeries s, ExNetwork **nets) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", peer_series[s].name, peer_series[s].help, peer_series[s].name,
                peer_series[s].type);
        for (size_t i = 0; i < e->n_peers; i++) {
                ExPeer *p = &e->peers[i];
                ExNetwork *n = nets[i];
                if (!n)
                        continue;
                fputs(peer_series[s].name, f);
                fputc('{', f);
                put_label(f, "interface", n->ifname, true);
                put_label(f, "network", n->name, false);
                put_label(f, "public_key", p->public_key, false);
                put_label(f, "name", p->name, false);
                put_label(f, "allowed_ips", p->allowed_ips, false);
                fputs("} ", f);
                switch (s) {
                case SERIES_RX:
                        fprintf(f, "%" PRIu64 "\n", p->rx);
                        break;
                case SERIES_TX:
                        fprintf(f, "%" PRIu64 "\n", p->tx);
                        break;
                case SERIES_HANDSHAKE:
                        fprintf(f, "%" PRIu64 "\n", p->last_handshake / 1000000);
                        break;
                case SERIES_ONLINE:
                        fprintf(f, "%d\n", p->online);
                        break;
                case SERIES_ENABLED:
                        fprintf(f, "%d\n", p->enabled);
                        break;
                case SERIES_ROTATION:
                        fprintf(f, "%d\n", p->rotation_pending);
                        break;
                default:
                        break;
                }
        }
}

static void write_network_gauge(FILE *f, Exporter *e, const char *name, const char *help, int which) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
        for (size_t i = 0; i < e->n_networks; i++) {
                ExNetwork *n = &e->networks[i];
                uint32_t v = which == 0 ? n->n_peers : which == 1 ? n->n_online : which == 2 ? n->n_rotation : n->active;
                fprintf(f, "%s{", name);
                put_label(f, "interface", n->ifname, true);
                put_label(f, "network", n->name, false);
                fprintf(f, "} %" PRIu32 "\n", v);
        }
}

static int collect(Exporter *e, bool *ret_up) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "Cannot connect to the system bus: %s\n", strerror(-r));
                *ret_up = false;
                return 0;
        }
        r = load_objects(bus, e);
        for (size_t i = 0; r >= 0 && i < e->n_networks; i++)
                r = load_stats(bus, e, &e->networks[i]);
        *ret_up = r >= 0;
        return 0;
}

/* The whole exposition into a malloc'd buffer. */
static int render(char **ret, size_t *ret_size) {
        Exporter e = {};
        _cleanup_(freep) ExNetwork **nets = NULL;
        uint64_t t0 = mono_usec();
        char *buf = NULL;
        size_t size = 0;
        bool up;
        FILE *f;

        (void) collect(&e, &up);
        if (!up) {
                exporter_done(&e);
                e = (Exporter) {};
        }
        nets = calloc(e.n_peers + 1, sizeof(ExNetwork *));
        if (!nets) {
                exporter_done(&e);
                return -ENOMEM;
        }
        for (size_t i = 0; i < e.n_peers; i++) {
                nets[i] = network_of(&e, &e.peers[i]);
                if (nets[i] && e.peers[i].rotation_pending)
                        nets[i]->n_rotation++;
        }
        f = open_memstream(&buf, &size);
        if (!f) {
                exporter_done(&e);
                return -ENOMEM;
        }
        fputs("# HELP wgnet_up 1 when wgnetd answered on the system bus.\n# TYPE wgnet_up gauge\n", f);
        fprintf(f, "wgnet_up %d\n", up);
        for (PeerSeries s = 0; s < _SERIES_MAX; s++)
                write_peer_series(f, &e, s, nets);
        write_network_gauge(f, &e, "wgnet_network_active", "1 when the network's interface is up.", 3);
        write_network_gauge(f, &e, "wgnet_network_peers", "Peers of the network.", 0);
        write_network_gauge(f, &e, "wgnet_network_peers_online", "Peers of the network that are online.", 1);
        write_network_gauge(f, &e, "wgnet_network_peers_rotation_pending",
                            "Peers of the network with a key rotation pending.", 2);
        fprintf(f, "# HELP wgnet_exporter_collect_seconds Time spent asking wgnetd.\n"
                   "# TYPE wgnet_exporter_collect_seconds gauge\nwgnet_exporter_collect_seconds %.6f\n",
                (mono_usec() - t0) / 1e6);
        exporter_done(&e);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_size = size;
        return 0;
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static int respond(int fd, const char *status, const char *body, size_t body_size) {
        char head[256];
        int k = snprintf(head, sizeof(head),
                         "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                         streq(status, "200 OK") ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8",
                         body_size);
        int r = write_all(fd, head, (size_t) k);
        return r < 0 ? r : write_all(fd, body, body_size);
}

/* Read the request head (up to the empty line). Returns the length, or negative. */
static ssize_t read_request(int fd, char *buf, size_t size) {
        size_t n = 0;
        while (n < size - 1) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int k = poll(&p, 1, REQUEST_TIMEOUT_MS);
                if (k == 0)
                        return -ETIMEDOUT;
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                ssize_t m = read(fd, buf + n, size - 1 - n);
                if (m < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (m == 0)
                        break;
                n += (size_t) m;
                buf[n] = 0;
                if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
                        return (ssize_t) n;
        }
        buf[n] = 0;
        return n >= size - 1 ? -E2BIG : (ssize_t) n;
}

static int serve(int in, int out) {
        char req[REQUEST_MAX], method[16], target[1024], *body = NULL;
        size_t size = 0;
        int r;

        ssize_t n = read_request(in, req, sizeof(req));
        if (n < 0) {
                static const char msg[] = "Bad request\n";
                return respond(out, n == -E2BIG ? "431 Request Header Fields Too Large" : "400 Bad Request",
                               msg, sizeof(msg) - 1);
        }
        if (sscanf(req, "%15s %1023s HTTP/1.%*1[01]", method, target) != 2) {
                static const char msg[] = "Bad request\n";
                return respond(out, "400 Bad Request", msg, sizeof(msg) - 1);
        }
        if (!streq(method, "GET") && !streq(method, "HEAD")) {
                static const char msg[] = "Only GET\n";
                return respond(out, "405 Method Not Allowed", msg, sizeof(msg) - 1);
        }
        char *q = strchr(target, '?');
        if (q)
                *q = 0;
        if (!streq(target, "/metrics")) {
                static const char msg[] = "Metrics are at /metrics\n";
                return respond(out, "404 Not Found", msg, sizeof(msg) - 1);
        }
        r = render(&body, &size);
        if (r < 0) {
                static const char msg[] = "Out of memory\n";
                return respond(out, "500 Internal Server Error", msg, sizeof(msg) - 1);
        }
        r = respond(out, "200 OK", streq(method, "HEAD") ? "" : body, streq(method, "HEAD") ? 0 : size);
        free(body);
        return r;
}

int main(int argc, char **argv) {
        if (argc > 1 && streq(argv[1], "--stdout")) {
                char *body = NULL;
                size_t size = 0;
                int r = render(&body, &size);
                if (r < 0)
                        return 1;
                r = write_all(STDOUT_FILENO, body, size);
                free(body);
                return r < 0 ? 1 : 0;
        }
        if (argc > 1) {
                fprintf(stderr, "Usage: %s [--stdout]\n", argv[0]);
                return 2;
        }
        return serve(STDIN_FILENO, STDOUT_FILENO) < 0 ? 1 : 0;
}
