/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnet-exporter: Prometheus metrics of wgnetd, one process per scrape.
 *
 * Started by systemd for each connection (wgnet-exporter.socket, Accept=yes) with the
 * connection on stdin and stdout: reads one HTTP request, answers GET /metrics with the text
 * exposition format, exits. It runs unprivileged and asks the daemon over the system bus,
 * like any client: ListNetworks, then per network its properties and one
 * GetMetrics (every peer's name, key, allowed IPs, counters and state as of the daemon's
 * last tick). Nothing here needs polkit: no
 * secret is read.
 *
 *   wgnet-exporter            serve one HTTP request on stdin/stdout
 *   wgnet-exporter --stdout   print the metrics and exit (tests, debugging) */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

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
        size_t network;                 /* index in Exporter.networks */
        const char *name, *public_key, *allowed_ips;    /* in the GetMetrics reply */
        bool enabled, online, rotation_pending;
        uint64_t last_handshake, rx, tx;
} ExPeer;

typedef struct Exporter {
        ExNetwork *networks;
        size_t n_networks;
        ExPeer *peers;
        size_t n_peers;
        sd_bus_message **replies;       /* GetMetrics answers, which the peers point into */
        size_t n_replies;
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
        for (size_t i = 0; i < e->n_replies; i++)
                sd_bus_message_unref(e->replies[i]);
        free(e->replies);
        free(e->networks);
        free(e->peers);
        *e = (Exporter) { 0 };
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

static int read_network_properties(sd_bus_message *m, ExNetwork *n) {
        const char *prop, *s;
        int b, r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read_basic(m, 's', &prop);
                if (r < 0)
                        return r;
                if (streq(prop, "Interface")) {
                        r = read_variant_basic(m, 's', &s);
                        if (r >= 0) {
                                free(n->ifname);
                                n->ifname = strdup(s);
                                if (!n->ifname)
                                        return -ENOMEM;
                        }
                } else if (streq(prop, "Active")) {
                        r = read_variant_basic(m, 'b', &b);
                        n->active = b;
                } else if (streq(prop, "PeerCount"))
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

static int grow(void **array, size_t n, size_t size) {
        if (n & (n - 1))
                return 0;       /* capacity is the next power of two */
        void *a = realloc(*array, (n ? n * 2 : 16) * size);
        if (!a)
                return -ENOMEM;
        *array = a;
        return 0;
}

static int load_network(sd_bus *bus, ExNetwork *n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, WGNET_BUS_NAME, n->path, "org.freedesktop.DBus.Properties", "GetAll", &error,
                                   &reply, "s", WGNET_NETWORK_INTERFACE);
        if (r < 0) {
                fprintf(stderr, "%s: GetAll: %s\n", n->path, error.message ? error.message : strerror(-r));
                return r;
        }
        return read_network_properties(reply, n);
}

/* GetMetrics() → a(ossstttbbb): peer, name, public key, allowed IPs, last handshake µs, rx,
 * tx, online, enabled, rotation pending. */
static int load_metrics(sd_bus *bus, Exporter *e, size_t network) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path, *name, *key, *allowed;
        uint64_t hs, rx, tx;
        int online, enabled, rotation, r;

        r = sd_bus_call_method(bus, WGNET_BUS_NAME, e->networks[network].path, WGNET_NETWORK_INTERFACE, "GetMetrics",
                               &error, &reply, NULL);
        if (r < 0) {
                fprintf(stderr, "%s: GetMetrics: %s\n", e->networks[network].path,
                        error.message ? error.message : strerror(-r));
                return r;
        }
        r = grow((void **) &e->replies, e->n_replies, sizeof(sd_bus_message *));
        if (r < 0)
                return r;
        e->replies[e->n_replies++] = sd_bus_message_ref(reply);
        r = sd_bus_message_enter_container(reply, 'a', "(ossstttbbb)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(ossstttbbb)", &path, &name, &key, &allowed, &hs, &rx, &tx, &online,
                                        &enabled, &rotation)) > 0) {
                r = grow((void **) &e->peers, e->n_peers, sizeof(ExPeer));
                if (r < 0)
                        return r;
                ExPeer *p = &e->peers[e->n_peers++];
                *p = (ExPeer) { .network = network, .name = name, .public_key = key, .allowed_ips = allowed,
                                .last_handshake = hs, .rx = rx, .tx = tx, .online = online, .enabled = enabled,
                                .rotation_pending = rotation };
                if (rotation)
                        e->networks[network].n_rotation++;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

static int load(sd_bus *bus, Exporter *e) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *path;
        int r;

        r = sd_bus_call_method(bus, WGNET_BUS_NAME, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "ListNetworks", &error,
                               &reply, NULL);
        if (r < 0) {
                fprintf(stderr, "ListNetworks: %s\n", error.message ? error.message : strerror(-r));
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(so)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(so)", &name, &path)) > 0) {
                r = grow((void **) &e->networks, e->n_networks, sizeof(ExNetwork));
                if (r < 0)
                        return r;
                ExNetwork *n = &e->networks[e->n_networks++];
                *n = (ExNetwork) { .path = strdup(path), .name = strdup(name) };
                if (!n->path || !n->name)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < e->n_networks; i++) {
                r = load_network(bus, &e->networks[i]);
                if (r >= 0)
                        r = load_metrics(bus, e, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A label value, escaped (backslash, double quote, newline). */
static void put_escaped(FILE *f, const char *value) {
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
}

/* Append value escaped (backslash, double quote, newline) at w; room for 2× its length. */
static char *escape_to(char *w, const char *value) {
        for (const char *c = value ? value : ""; *c; c++) {
                if (*c == '\\' || *c == '"') {
                        *w++ = '\\';
                        *w++ = *c;
                } else if (*c == '\n') {
                        *w++ = '\\';
                        *w++ = 'n';
                } else
                        *w++ = *c;
        }
        return w;
}

/* The label sets of a peer, rendered once: full = interface, public_key, name,
 * allowed_ips (the series of the WireGuard exporters); short = interface, public_key. */
static int peer_labels(const ExNetwork *n, const ExPeer *p, char **ret_full, char **ret_short) {
        size_t room = 2 * (strlen(n->ifname ? n->ifname : "") + strlen(p->public_key) + strlen(p->name) +
                           strlen(p->allowed_ips)) + 64;
        char *full = malloc(room), *sh, *w;
        if (!full)
                return -ENOMEM;
        w = stpcpy(full, "{interface=\"");
        w = escape_to(w, n->ifname);
        w = stpcpy(w, "\",public_key=\"");
        w = escape_to(w, p->public_key);
        w = stpcpy(w, "\"");
        sh = malloc((size_t) (w - full) + 2);
        if (!sh) {
                free(full);
                return -ENOMEM;
        }
        memcpy(sh, full, (size_t) (w - full));
        strcpy(sh + (w - full), "}");
        w = stpcpy(w, ",name=\"");
        w = escape_to(w, p->name);
        w = stpcpy(w, "\",allowed_ips=\"");
        w = escape_to(w, p->allowed_ips);
        strcpy(w, "\"}");
        *ret_full = full;
        *ret_short = sh;
        return 0;
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
        bool full_labels;
} peer_series[_SERIES_MAX] = {
        [SERIES_RX] = { "wireguard_received_bytes_total", "counter", "Bytes received from the peer.", true },
        [SERIES_TX] = { "wireguard_sent_bytes_total", "counter", "Bytes sent to the peer.", true },
        [SERIES_HANDSHAKE] = { "wireguard_latest_handshake_seconds", "gauge",
                               "Seconds since the epoch of the latest handshake with the peer (0: never).", true },
        [SERIES_ONLINE] = { "wgnet_peer_online", "gauge",
                            "1 when the peer's latest handshake is within the network's online threshold.", false },
        [SERIES_ENABLED] = { "wgnet_peer_enabled", "gauge", "1 when the peer is enabled.", false },
        [SERIES_ROTATION] = { "wgnet_peer_rotation_pending", "gauge",
                              "1 while a key rotation of the peer waits for its new key.", false },
};

static uint64_t series_value(const ExPeer *p, PeerSeries s) {
        switch (s) {
        case SERIES_RX:
                return p->rx;
        case SERIES_TX:
                return p->tx;
        case SERIES_HANDSHAKE:
                return p->last_handshake / 1000000;
        case SERIES_ONLINE:
                return p->online;
        case SERIES_ENABLED:
                return p->enabled;
        case SERIES_ROTATION:
                return p->rotation_pending;
        default:
                return 0;
        }
}

static void write_network_gauge(FILE *f, Exporter *e, const char *name, const char *help, int which) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
        for (size_t i = 0; i < e->n_networks; i++) {
                ExNetwork *n = &e->networks[i];
                uint32_t v = which == 0 ? n->n_peers : which == 1 ? n->n_online : which == 2 ? n->n_rotation : n->active;
                fprintf(f, "%s{interface=\"", name);
                put_escaped(f, n->ifname);
                fputs("\",network=\"", f);
                put_escaped(f, n->name);
                fprintf(f, "\"} %" PRIu32 "\n", v);
        }
}

/* The whole exposition into a malloc'd buffer. */
static int render(char **ret, size_t *ret_size) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Exporter e = { 0 };
        char **full = NULL, **sh = NULL, *buf = NULL;
        uint64_t t0 = mono_usec();
        size_t size = 0;
        bool up = false;
        int r;
        FILE *f;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                fprintf(stderr, "Cannot connect to the system bus: %s\n", strerror(-r));
        else
                up = load(bus, &e) >= 0;
        if (!up)
                exporter_done(&e);
        double collect = (mono_usec() - t0) / 1e6;

        full = calloc(e.n_peers + 1, sizeof(char *));
        sh = calloc(e.n_peers + 1, sizeof(char *));
        f = full && sh ? open_memstream(&buf, &size) : NULL;
        r = f ? 0 : -ENOMEM;
        if (f)
                (void) __fsetlocking(f, FSETLOCKING_BYCALLER);
        for (size_t i = 0; r >= 0 && i < e.n_peers; i++)
                r = peer_labels(&e.networks[e.peers[i].network], &e.peers[i], &full[i], &sh[i]);
        if (r >= 0) {
                fputs("# HELP wgnet_up 1 when wgnetd answered on the system bus.\n# TYPE wgnet_up gauge\n", f);
                fprintf(f, "wgnet_up %d\n", up);
                for (PeerSeries s = 0; s < _SERIES_MAX; s++) {
                        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", peer_series[s].name, peer_series[s].help,
                                peer_series[s].name, peer_series[s].type);
                        size_t name_len = strlen(peer_series[s].name);
                        for (size_t i = 0; i < e.n_peers; i++) {
                                /* The hot loop (a line per peer and series): no printf. */
                                char num[24], *w = num + sizeof(num);
                                uint64_t v = series_value(&e.peers[i], s);
                                const char *labels = peer_series[s].full_labels ? full[i] : sh[i];
                                *--w = '\n';
                                do
                                        *--w = (char) ('0' + v % 10);
                                while ((v /= 10) > 0);
                                *--w = ' ';
                                fwrite_unlocked(peer_series[s].name, 1, name_len, f);
                                fputs_unlocked(labels, f);
                                fwrite_unlocked(w, 1, (size_t) (num + sizeof(num) - w), f);
                        }
                }
                write_network_gauge(f, &e, "wgnet_network_active", "1 when the network's interface is up.", 3);
                write_network_gauge(f, &e, "wgnet_network_peers", "Peers of the network.", 0);
                write_network_gauge(f, &e, "wgnet_network_peers_online", "Peers of the network that are online.", 1);
                write_network_gauge(f, &e, "wgnet_network_peers_rotation_pending",
                                    "Peers of the network with a key rotation pending.", 2);
                fprintf(f, "# HELP wgnet_exporter_collect_seconds Time spent asking wgnetd.\n"
                           "# TYPE wgnet_exporter_collect_seconds gauge\nwgnet_exporter_collect_seconds %.6f\n",
                        collect);
        }
        for (size_t i = 0; i < e.n_peers; i++) {
                if (full)
                        free(full[i]);
                if (sh)
                        free(sh[i]);
        }
        free(full);
        free(sh);
        exporter_done(&e);
        if (f && fclose(f) != 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
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
