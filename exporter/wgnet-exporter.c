/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnet-exporter: Prometheus metrics of wgnetd, one process per scrape.
 *
 * Started by systemd for each connection (wgnet-exporter.socket, Accept=yes) with the
 * connection on stdin and stdout: reads one HTTP request, answers GET /metrics with the text
 * exposition format, exits. It runs unprivileged and asks the daemon over the system bus,
 * like any client: ListNetworks, then per network its properties and one
 * GetMetricsColumns (every peer's name, key, allowed IPs, counters and state as of the
 * daemon's last tick, by column). Nothing here needs polkit: no secret is read. The text
 * is streamed out through a fixed buffer after its length was counted.
 *
 *   wgnet-exporter            serve one HTTP request on stdin/stdout
 *   wgnet-exporter --stdout   print the metrics and exit (tests, debugging) */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "http-request.h"
#include "keys.h"
#include "macro.h"
#include "wgnet-error.h"

#define REQUEST_MAX 8192
#define REQUEST_TIMEOUT_MS 2000          /* the whole request head: Prometheus sends it at once */
#define RESPONSE_TIMEOUT_MS 20000        /* the whole answer, collecting included */
/* Asking wgnetd, connecting to the bus included: every call gets what is left of it, and
 * once it is over the answer is wgnet_up 0. Below Prometheus's default scrape_timeout
 * (10 s), so that a hung wgnetd shows as wgnet_up 0 rather than as a failed scrape, and
 * well inside RESPONSE_TIMEOUT_MS and the unit's RuntimeMaxSec=30s. The environment variable
 * WGNET_EXPORTER_COLLECT_TIMEOUT_MS may shorten it (tests; a shorter scrape_timeout), not
 * lengthen it. */
#define COLLECT_TIMEOUT_MS 5000

typedef struct ExNetwork {
        char *path, *name, *ifname;
        bool active;
        uint32_t n_peers, n_online, n_rotation;
} ExNetwork;

typedef struct ExPeer {
        size_t network;                 /* index in Exporter.networks */
        const char *name, *allowed_ips; /* in the GetMetricsColumns reply */
        uint8_t public_key[WG_KEY_LEN];
        uint8_t flags;                  /* WGNET_METRICS_* */
        uint64_t last_handshake, rx, tx;
        size_t labels, labels_size, short_labels_size;  /* offsets in Exporter.labels */
} ExPeer;

typedef struct Exporter {
        ExNetwork *networks;
        size_t n_networks;
        ExPeer *peers;
        size_t n_peers;
        sd_bus_message **replies;       /* GetMetricsColumns answers, which the peers point into */
        size_t n_replies;
        char *labels;                   /* every peer's two label sets, rendered once */
        uint64_t deadline;              /* CLOCK_MONOTONIC µs by which wgnetd must have answered */
        bool up;                        /* wgnetd answered */
        double collect;                 /* seconds spent asking it */
} Exporter;

static uint64_t mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static void ex_network_done(ExNetwork *n) {
        free(n->path);
        free(n->name);
        free(n->ifname);
        *n = (ExNetwork) { 0 };
}

static void exporter_done(Exporter *e) {
        for (size_t i = 0; i < e->n_networks; i++)
                ex_network_done(&e->networks[i]);
        for (size_t i = 0; i < e->n_replies; i++)
                sd_bus_message_unref(e->replies[i]);
        free(e->replies);
        free(e->networks);
        free(e->peers);
        free(e->labels);
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

/* A method call to wgnetd that never starts it, answered by deadline (CLOCK_MONOTONIC µs) or
 * -ETIMEDOUT. With the bus's default (auto-start), a scrape after `systemctl stop wgnetd`
 * would have the bus activate it again (dbus/org.wgnet1.service) and wgnet_up 0 would never
 * show; without, the bus answers ServiceUnknown at once. sd-bus's own timeout (25 s per
 * call) would let a hung wgnetd outlast the unit's RuntimeMaxSec=30s. The bus must be
 * running (bus_wait_ready): sd_bus_call() waits for the connection without a bound. arg: one
 * string argument, or NULL for none. */
static int call_wgnetd(sd_bus *bus, uint64_t deadline, const char *path, const char *interface, const char *member,
                       const char *arg, sd_bus_error *error, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, WGNET_BUS_NAME, path, interface, member);
        if (r >= 0)
                r = sd_bus_message_set_auto_start(m, false);
        if (r >= 0 && arg)
                r = sd_bus_message_append_basic(m, 's', arg);
        if (r < 0)
                return r;
        uint64_t now = mono_usec();
        if (now >= deadline)
                return -ETIMEDOUT;
        return sd_bus_call(bus, m, deadline - now, error, ret_reply);
}

/* Deleted between ListNetworks and this call: not an error of the daemon's. (sd-bus answers
 * a call on a fallback object that is gone with UnknownMethod, as it answers a method the
 * object lacks: see load_metrics.) */
static bool network_gone(const sd_bus_error *error) {
        return sd_bus_error_has_names(error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_METHOD,
                                      SD_BUS_ERROR_UNKNOWN_INTERFACE, "org.wgnet1.Error.NotFound");
}

static int load_network(sd_bus *bus, uint64_t deadline, ExNetwork *n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = call_wgnetd(bus, deadline, n->path, "org.freedesktop.DBus.Properties", "GetAll",
                            WGNET_NETWORK_INTERFACE, &error, &reply);
        if (r < 0) {
                if (network_gone(&error))
                        return -ENODEV;
                fprintf(stderr, "%s: GetAll: %s\n", n->path, error.message ? error.message : strerror(-r));
                return r;
        }
        return read_network_properties(reply, n);
}

/* One fixed-size column of n values of size each; a copy into each peer's field. */
static int read_column(sd_bus_message *m, char type, size_t size, ExPeer *peers, size_t n, size_t offset) {
        const uint8_t *a;
        size_t bytes;
        int r = sd_bus_message_read_array(m, type, (const void **) &a, &bytes);
        if (r < 0)
                return r;
        if (bytes != n * size)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                memcpy((uint8_t *) &peers[i] + offset, a + i * size, size);
        return 0;
}

/* GetMetricsColumns() → (as names, ay public_keys, as allowed_ips, at last_handshake µs,
 * at rx, at tx, ay flags): one row per peer in each column. */
static int load_metrics(sd_bus *bus, Exporter *e, size_t network) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *s;
        size_t first = e->n_peers, n;
        int r;

        r = call_wgnetd(bus, e->deadline, e->networks[network].path, WGNET_NETWORK_INTERFACE, "GetMetricsColumns",
                        NULL, &error, &reply);
        /* UnknownMethod from a network that is still there: a wgnetd older than this
         * exporter (not restarted after an upgrade). Its scrape fails (wgnet_up 0), not
         * a scrape without networks that alerts would take for a quiet host. */
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD)) {
                _cleanup_(sd_bus_error_free) sd_bus_error probe_error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *probe = NULL;
                int k = call_wgnetd(bus, e->deadline, e->networks[network].path, "org.freedesktop.DBus.Properties",
                                    "GetAll", WGNET_NETWORK_INTERFACE, &probe_error, &probe);
                if (k < 0 && !network_gone(&probe_error)) {
                        /* (the deadline, or the daemon going away: not a sign of its age) */
                        fprintf(stderr, "%s: GetAll: %s\n", e->networks[network].path,
                                probe_error.message ? probe_error.message : strerror(-k));
                        return k;
                }
                if (k >= 0) {
                        fprintf(stderr, "%s: wgnetd has no GetMetricsColumns: it is older than this exporter "
                                "(restart wgnetd after an upgrade)\n", e->networks[network].path);
                        return -EPROTONOSUPPORT;
                }
                return -ENODEV;
        }
        if (r < 0 && network_gone(&error))
                return -ENODEV;
        if (r < 0) {
                fprintf(stderr, "%s: GetMetricsColumns: %s\n", e->networks[network].path,
                        error.message ? error.message : strerror(-r));
                return r;
        }
        r = grow((void **) &e->replies, e->n_replies, sizeof(sd_bus_message *));
        if (r < 0)
                return r;
        e->replies[e->n_replies++] = sd_bus_message_ref(reply);

        r = sd_bus_message_enter_container(reply, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read_basic(reply, 's', &s)) > 0) {
                r = grow((void **) &e->peers, e->n_peers, sizeof(ExPeer));
                if (r < 0)
                        return r;
                e->peers[e->n_peers++] = (ExPeer) { .network = network, .name = s };
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        n = e->n_peers - first;
        ExPeer *peers = e->peers + first;

        r = read_column(reply, 'y', WG_KEY_LEN, peers, n, offsetof(ExPeer, public_key));
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_read_basic(reply, 's', &peers[i].allowed_ips);
                if (r == 0)
                        r = -EBADMSG;   /* a shorter column */
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);       /* fails on a longer one */
        if (r >= 0)
                r = read_column(reply, 't', sizeof(uint64_t), peers, n, offsetof(ExPeer, last_handshake));
        if (r >= 0)
                r = read_column(reply, 't', sizeof(uint64_t), peers, n, offsetof(ExPeer, rx));
        if (r >= 0)
                r = read_column(reply, 't', sizeof(uint64_t), peers, n, offsetof(ExPeer, tx));
        if (r >= 0)
                r = read_column(reply, 'y', 1, peers, n, offsetof(ExPeer, flags));
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (peers[i].flags & WGNET_METRICS_ROTATION_PENDING)
                        e->networks[network].n_rotation++;
        return 0;
}

static int load(sd_bus *bus, Exporter *e) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *path;
        int r;

        r = call_wgnetd(bus, e->deadline, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "ListNetworks", NULL, &error,
                        &reply);
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
        /* A network deleted meanwhile is left out (kept ones move down: peers name theirs
         * by index); any other failure fails the scrape. */
        size_t kept = 0, listed = e->n_networks;
        for (size_t i = 0; i < listed; i++) {
                e->networks[kept] = e->networks[i];
                e->n_networks = kept + 1;
                r = load_network(bus, e->deadline, &e->networks[kept]);
                if (r >= 0)
                        r = load_metrics(bus, e, kept);
                if (r == -ENODEV) {
                        ex_network_done(&e->networks[kept]);
                        e->n_networks = kept;
                        continue;
                }
                if (r < 0) {
                        /* what is not kept yet is freed here, exporter_done frees the rest */
                        for (size_t j = i + 1; j < listed; j++)
                                ex_network_done(&e->networks[j]);
                        return r;
                }
                kept++;
        }
        e->n_networks = kept;
        return 0;
}

/* The output, streamed: a fixed buffer written to fd whenever it fills, so 8 MB of text
 * never sits in memory (page faults were a third of the exporter's time). With fd < 0 it
 * only counts, which gives the Content-Length before the first byte is sent. */
typedef struct Out {
        int fd;
        int error;                      /* the first write error, negative errno */
        size_t total;                   /* bytes put so far */
        size_t n;                       /* bytes in buf */
        char buf[256 * 1024];
} Out;

static int write_all(int fd, const char *p, size_t n);

static void out_flush(Out *o) {
        if (o->fd >= 0 && o->n > 0 && o->error == 0)
                o->error = write_all(o->fd, o->buf, o->n);
        o->n = 0;
}

static void out_put(Out *o, const char *p, size_t n) {
        o->total += n;
        if (o->fd < 0)
                return;
        if (o->n + n > sizeof(o->buf)) {
                out_flush(o);
                if (n > sizeof(o->buf)) {
                        if (o->error == 0)
                                o->error = write_all(o->fd, p, n);
                        return;
                }
        }
        memcpy(o->buf + o->n, p, n);
        o->n += n;
}

static void out_puts(Out *o, const char *s) {
        out_put(o, s, strlen(s));
}

static void out_uint(Out *o, uint64_t v) {
        char num[24], *w = num + sizeof(num);
        do
                *--w = (char) ('0' + v % 10);
        while ((v /= 10) > 0);
        out_put(o, w, (size_t) (num + sizeof(num) - w));
}

/* A label value, escaped (backslash, double quote, newline). */
static void out_escaped(Out *o, const char *value) {
        for (const char *c = value ? value : ""; *c; c++) {
                if (*c == '\\')
                        out_put(o, "\\\\", 2);
                else if (*c == '"')
                        out_put(o, "\\\"", 2);
                else if (*c == '\n')
                        out_put(o, "\\n", 2);
                else
                        out_put(o, c, 1);
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

/* The label sets of every peer, rendered once into one buffer: short = interface,
 * public_key; full = interface, public_key, name, allowed_ips (the series of the WireGuard
 * exporters). Each peer's short set is followed by its full set. */
static int render_labels(Exporter *e) {
        size_t room = 1, w = 0;
        for (size_t i = 0; i < e->n_peers; i++) {
                const char *ifname = e->networks[e->peers[i].network].ifname;
                room += 2 * (2 * strlen(ifname ? ifname : "") + 2 * WG_KEY_B64_SIZE + strlen(e->peers[i].name) +
                             strlen(e->peers[i].allowed_ips)) + 128;
        }
        e->labels = malloc(room);
        if (!e->labels)
                return -ENOMEM;
        for (size_t i = 0; i < e->n_peers; i++) {
                ExPeer *p = &e->peers[i];
                const char *ifname = e->networks[p->network].ifname;
                char key[WG_KEY_B64_SIZE], *start = e->labels + w, *c;

                wg_key_to_base64(key, p->public_key);
                c = stpcpy(start, "{interface=\"");
                c = escape_to(c, ifname);
                c = stpcpy(c, "\",public_key=\"");
                c = stpcpy(c, key);
                size_t common = (size_t) (c - start);
                c = stpcpy(c, "\"}");
                p->short_labels_size = (size_t) (c - start);
                memcpy(c, start, common);
                c = stpcpy(c + common, "\",name=\"");
                c = escape_to(c, p->name);
                c = stpcpy(c, "\",allowed_ips=\"");
                c = escape_to(c, p->allowed_ips);
                c = stpcpy(c, "\"}");
                p->labels = w;
                p->labels_size = (size_t) (c - start);
                w += p->labels_size;
        }
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
                return !!(p->flags & WGNET_METRICS_ONLINE);
        case SERIES_ENABLED:
                return !!(p->flags & WGNET_METRICS_ENABLED);
        case SERIES_ROTATION:
                return !!(p->flags & WGNET_METRICS_ROTATION_PENDING);
        default:
                return 0;
        }
}

static void write_network_gauge(Out *o, const Exporter *e, const char *name, const char *help, int which) {
        out_puts(o, "# HELP ");
        out_puts(o, name);
        out_puts(o, " ");
        out_puts(o, help);
        out_puts(o, "\n# TYPE ");
        out_puts(o, name);
        out_puts(o, " gauge\n");
        for (size_t i = 0; i < e->n_networks; i++) {
                const ExNetwork *n = &e->networks[i];
                uint32_t v = which == 0 ? n->n_peers : which == 1 ? n->n_online : which == 2 ? n->n_rotation : n->active;
                out_puts(o, name);
                out_puts(o, "{interface=\"");
                out_escaped(o, n->ifname);
                out_puts(o, "\",network=\"");
                out_escaped(o, n->name);
                out_puts(o, "\"} ");
                out_uint(o, v);
                out_put(o, "\n", 1);
        }
}

/* The whole exposition. The same call counts (o->fd < 0) and writes. */
static void render(Out *o, const Exporter *e) {
        char collect[64];

        out_puts(o, "# HELP wgnet_up 1 when wgnetd answered on the system bus.\n# TYPE wgnet_up gauge\n");
        out_puts(o, e->up ? "wgnet_up 1\n" : "wgnet_up 0\n");
        for (PeerSeries s = 0; s < _SERIES_MAX; s++) {
                const char *name = peer_series[s].name;
                size_t name_len = strlen(name);
                out_puts(o, "# HELP ");
                out_puts(o, name);
                out_puts(o, " ");
                out_puts(o, peer_series[s].help);
                out_puts(o, "\n# TYPE ");
                out_puts(o, name);
                out_puts(o, " ");
                out_puts(o, peer_series[s].type);
                out_puts(o, "\n");
                for (size_t i = 0; i < e->n_peers; i++) {
                        /* The hot loop (a line per peer and series): no printf, labels
                         * rendered before. */
                        const ExPeer *p = &e->peers[i];
                        char num[24], *w = num + sizeof(num);
                        uint64_t v = series_value(p, s);
                        *--w = '\n';
                        do
                                *--w = (char) ('0' + v % 10);
                        while ((v /= 10) > 0);
                        *--w = ' ';
                        out_put(o, name, name_len);
                        if (peer_series[s].full_labels)
                                out_put(o, e->labels + p->labels + p->short_labels_size,
                                        p->labels_size - p->short_labels_size);
                        else
                                out_put(o, e->labels + p->labels, p->short_labels_size);
                        out_put(o, w, (size_t) (num + sizeof(num) - w));
                }
        }
        write_network_gauge(o, e, "wgnet_network_active", "1 when the network's interface is up.", 3);
        write_network_gauge(o, e, "wgnet_network_peers", "Peers of the network.", 0);
        write_network_gauge(o, e, "wgnet_network_peers_online", "Peers of the network that are online.", 1);
        write_network_gauge(o, e, "wgnet_network_peers_rotation_pending",
                            "Peers of the network with a key rotation pending.", 2);
        snprintf(collect, sizeof(collect), "%.6f\n", e->collect);
        out_puts(o, "# HELP wgnet_exporter_collect_seconds Time spent asking wgnetd.\n"
                    "# TYPE wgnet_exporter_collect_seconds gauge\nwgnet_exporter_collect_seconds ");
        out_puts(o, collect);
}

static uint64_t collect_timeout_usec(void) {
        const char *s = getenv("WGNET_EXPORTER_COLLECT_TIMEOUT_MS");
        char *end;

        if (!s)
                return COLLECT_TIMEOUT_MS * 1000ULL;
        errno = 0;
        unsigned long ms = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != 0 || ms == 0 || ms > COLLECT_TIMEOUT_MS) {
                fprintf(stderr, "Ignoring WGNET_EXPORTER_COLLECT_TIMEOUT_MS=%s: not 1 to %u\n", s, COLLECT_TIMEOUT_MS);
                return COLLECT_TIMEOUT_MS * 1000ULL;
        }
        return ms * 1000ULL;
}

/* sd_bus_open_system() only starts connecting; authentication and Hello would happen in the
 * first sd_bus_call() under sd-bus's own timeouts. Here they happen by the deadline. */
static int bus_wait_ready(sd_bus *bus, uint64_t deadline) {
        for (;;) {
                int r = sd_bus_is_ready(bus);
                if (r != 0)
                        return r < 0 ? r : 0;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                uint64_t now = mono_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0)
                        return r;
        }
}

/* Ask wgnetd and prepare the labels; the exposition is then rendered by render(). */
static int collect(Exporter *e) {
        /* Closed, not flushed: every message sent was a call whose answer was awaited or given
         * up on, and sd_bus_flush() would wait for a stuck bus without a bound. */
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        uint64_t t0 = mono_usec(), timeout = collect_timeout_usec();
        int r;

        e->deadline = t0 + timeout;
        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = bus_wait_ready(bus, e->deadline);
        if (r < 0)
                fprintf(stderr, "Cannot connect to the system bus: %s\n", strerror(-r));
        else {
                r = load(bus, e);
                e->up = r >= 0;
        }
        if (r == -ETIMEDOUT)
                fprintf(stderr, "No answer within %" PRIu64 " ms: wgnet_up 0\n", timeout / 1000);
        if (!e->up)
                exporter_done(e);
        e->collect = (mono_usec() - t0) / 1e6;
        return render_labels(e);
}

/* The end of the current phase for a client (reading its request, sending the answer),
 * CLOCK_MONOTONIC µs; 0 = no limit (--stdout). A deadline for the whole phase, not for
 * each byte: a client that trickles bytes or reads slowly is cut off all the same. */
static uint64_t io_deadline;

static int wait_fd(int fd, short events) {
        for (;;) {
                int timeout = -1;
                if (io_deadline) {
                        uint64_t now = mono_usec();
                        if (now >= io_deadline)
                                return -ETIMEDOUT;
                        timeout = (int) ((io_deadline - now + 999) / 1000);
                }
                struct pollfd p = { .fd = fd, .events = events };
                int k = poll(&p, 1, timeout);
                if (k > 0)
                        return 0;
                if (k == 0)
                        return -ETIMEDOUT;
                if (errno != EINTR)
                        return -errno;
        }
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK) {
                                int r = wait_fd(fd, POLLOUT);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static int respond_head(int fd, const char *status, size_t body_size) {
        char head[256];
        int k = snprintf(head, sizeof(head),
                         "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                         streq(status, "200 OK") ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8",
                         body_size);
        return write_all(fd, head, (size_t) k);
}

static int respond(int fd, const char *status, const char *body, size_t body_size) {
        int r = respond_head(fd, status, body_size);
        return r < 0 ? r : write_all(fd, body, body_size);
}

static Out out;                         /* 256 KiB: not on the stack */

/* Render the metrics to fd, after an HTTP head when http. */
static int serve_metrics(int fd, bool http, bool head_only) {
        Exporter e = { 0 };
        int r;

        r = collect(&e);
        if (r < 0) {
                exporter_done(&e);
                if (!http)
                        return r;
                static const char msg[] = "Out of memory\n";
                return respond(fd, "500 Internal Server Error", msg, sizeof(msg) - 1);
        }
        out = (Out) { .fd = -1 };
        render(&out, &e);
        if (http)
                r = respond_head(fd, "200 OK", out.total);
        if (r >= 0 && !head_only) {
                out = (Out) { .fd = fd };
                render(&out, &e);
                out_flush(&out);
                r = out.error;
        }
        exporter_done(&e);
        return r;
}

/* Read the request head (up to the empty line). Returns the length, or negative. */
static ssize_t read_request(int fd, char *buf, size_t size) {
        size_t n = 0;
        while (n < size - 1) {
                int k = wait_fd(fd, POLLIN);
                if (k < 0)
                        return k;
                ssize_t m = read(fd, buf + n, size - 1 - n);
                if (m < 0) {
                        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
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

static int serve(int in, int out_fd) {
        char req[REQUEST_MAX], method[16], target[1024];

        /* Non-blocking, so that no read or write outlasts its deadline. */
        (void) fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
        if (out_fd != in)
                (void) fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);
        io_deadline = mono_usec() + REQUEST_TIMEOUT_MS * 1000ULL;
        ssize_t n = read_request(in, req, sizeof(req));
        /* The answer (up to ~8 MB at 10,000 peers) gets its own time. */
        io_deadline = mono_usec() + RESPONSE_TIMEOUT_MS * 1000ULL;
        if (n >= 0 && !http_request_line(req, method, target))
                n = -EBADMSG;
        if (n < 0) {
                static const char msg[] = "Bad request\n";
                return respond(out_fd, n == -E2BIG ? "431 Request Header Fields Too Large" : "400 Bad Request",
                               msg, sizeof(msg) - 1);
        }
        if (!http_request_allowed(req)) {
                static const char msg[] = "Not for browsers; a scraper that names this host otherwise: "
                                          "WGNET_EXPORTER_HOSTS\n";
                return respond(out_fd, "403 Forbidden", msg, sizeof(msg) - 1);
        }
        if (!streq(method, "GET") && !streq(method, "HEAD")) {
                static const char msg[] = "Only GET\n";
                return respond(out_fd, "405 Method Not Allowed", msg, sizeof(msg) - 1);
        }
        char *q = strchr(target, '?');
        if (q)
                *q = 0;
        if (!streq(target, "/metrics")) {
                static const char msg[] = "Metrics are at /metrics\n";
                return respond(out_fd, "404 Not Found", msg, sizeof(msg) - 1);
        }
        return serve_metrics(out_fd, true, streq(method, "HEAD"));
}

int main(int argc, char **argv) {
        if (argc > 1 && streq(argv[1], "--stdout"))
                return serve_metrics(STDOUT_FILENO, false, false) < 0 ? 1 : 0;
        if (argc > 1) {
                fprintf(stderr, "Usage: %s [--stdout]\n", argv[0]);
                return 2;
        }
        return serve(STDIN_FILENO, STDOUT_FILENO) < 0 ? 1 : 0;
}
