/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fast D-Bus client for bench/bench-daemon.py: the Python client would be the limit.
 *
 *   bench-bus add NETWORK_PATH COUNT CALLERS PREFIX [BLOCK]
 *       AddPeer COUNT times, names PREFIX0, PREFIX1, …, from CALLERS connections, each
 *       with one call pending at a time. Prints one line per BLOCK replies (rate of that
 *       block) and a summary line: count errors seconds rate p50_ms p99_ms.
 *   bench-bus bulk NETWORK_PATH COUNT PREFIX AddPeers of COUNT peers in one call: count seconds
 *   bench-bus stats NETWORK_PATH COUNT [GAP_MS]
 *                                            GetStats COUNT times, GAP_MS apart: peers min_ms median_ms
 *   bench-bus checkauth ACTION COUNT        polkit CheckAuthorization of this connection
 *                                            (system-bus-name subject, as wgnetd asks it):
 *                                            count min_ms median_ms authorized
 *   bench-bus readers NETWORK_PATH READERS  READERS connections, each reading every 100 ms
 *                                            (Get PeerCount, every 10th call GetStats) until
 *                                            stdin closes: calls errors p50_ms p99_ms
 * The bus is $DBUS_SYSTEM_BUS_ADDRESS. */
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

#define MAX_CALLERS 256

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static double pct_ms(uint64_t *v, size_t n, double p) {
        if (n == 0)
                return 0;
        qsort(v, n, sizeof(*v), cmp_u64);
        size_t i = (size_t) (p * (double) (n - 1) + 0.5);
        return (double) v[i] / 1e6;
}

static sd_bus *connect_bus(void) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "cannot connect to the bus: %s\n", strerror(-r));
                exit(1);
        }
        return bus;
}

typedef struct Caller {
        sd_bus *bus;
        sd_bus_slot *slot;
        uint64_t sent;
} Caller;

typedef struct Run {
        const char *path, *prefix, *method;
        Caller callers[MAX_CALLERS];
        size_t n_callers;
        size_t count, issued, done, errors, block;
        uint64_t *lat;
        uint64_t t0, block_t0;
        size_t block_done;
} Run;

static Run *current_run;

static int send_one(Run *run, Caller *c);

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Caller *c = userdata;
        Run *run = current_run;
        (void) ret_error;
        uint64_t t = now_ns();
        run->lat[run->done++] = t - c->sent;
        if (sd_bus_message_is_method_error(m, NULL)) {
                if (run->errors++ < 5)
                        fprintf(stderr, "error: %s: %s\n", sd_bus_message_get_error(m)->name,
                                sd_bus_message_get_error(m)->message);
        }
        c->slot = sd_bus_slot_unref(c->slot);
        if (run->block && run->done % run->block == 0) {
                printf("block %zu %.1f\n", run->done, (double) (run->done - run->block_done) * 1e9 / (double) (t - run->block_t0));
                fflush(stdout);
                run->block_t0 = t;
                run->block_done = run->done;
        }
        if (run->issued < run->count)
                return send_one(run, c);
        return 0;
}

static int send_one(Run *run, Caller *c) {
        char name[64];
        int r;
        snprintf(name, sizeof(name), "%s%zu", run->prefix, run->issued++);
        c->sent = now_ns();
        if (run->method[0] == 'A')
                r = sd_bus_call_method_async(c->bus, &c->slot, "org.wgnet1", run->path, "org.wgnet1.Network", "AddPeer",
                                             on_reply, c, "sa{sv}", name, 0);
        else
                r = sd_bus_call_method_async(c->bus, &c->slot, "org.wgnet1", run->path, "org.wgnet1.Network", "GetStats",
                                             on_reply, c, "");
        if (r < 0) {
                fprintf(stderr, "cannot send: %s\n", strerror(-r));
                exit(1);
        }
        return 0;
}

static void loop(Caller *callers, size_t n, bool (*finished)(void *), void *userdata) {
        struct pollfd pfd[MAX_CALLERS + 1];
        while (!finished(userdata)) {
                bool progress = false;
                for (size_t i = 0; i < n; i++) {
                        int r;
                        while ((r = sd_bus_process(callers[i].bus, NULL)) > 0)
                                progress = true;
                        if (r < 0) {
                                fprintf(stderr, "bus: %s\n", strerror(-r));
                                exit(1);
                        }
                }
                if (progress || finished(userdata))
                        continue;
                /* sd-bus may hold read messages already: its timeout says when to come back */
                uint64_t until = UINT64_MAX, now_us = now_ns() / 1000;
                for (size_t i = 0; i < n; i++) {
                        uint64_t t;
                        if (sd_bus_get_timeout(callers[i].bus, &t) >= 0 && t < until)
                                until = t;
                        pfd[i] = (struct pollfd) { .fd = sd_bus_get_fd(callers[i].bus),
                                                   .events = (short) sd_bus_get_events(callers[i].bus) };
                }
                int ms = until == UINT64_MAX ? 1000 : until <= now_us ? 0 : (int) ((until - now_us + 999) / 1000);
                (void) poll(pfd, n, ms > 1000 ? 1000 : ms);
        }
}

static bool run_finished(void *userdata) {
        Run *run = userdata;
        return run->done >= run->count;
}

static int cmd_calls(const char *method, const char *path, size_t count, size_t n_callers, const char *prefix,
                     size_t block) {
        Run *run = calloc(1, sizeof(Run));
        if (!run || n_callers == 0 || n_callers > MAX_CALLERS)
                return 1;
        current_run = run;
        *run = (Run) { .path = path, .prefix = prefix, .method = method, .count = count, .n_callers = n_callers,
                       .block = block };
        run->lat = calloc(count + 1, sizeof(uint64_t));
        for (size_t i = 0; i < n_callers; i++)
                run->callers[i].bus = connect_bus();
        /* connected and authenticated before the clock starts */
        for (size_t i = 0; i < n_callers; i++) {
                const char *unique;
                (void) sd_bus_get_unique_name(run->callers[i].bus, &unique);
        }
        run->t0 = run->block_t0 = now_ns();
        for (size_t i = 0; i < n_callers && run->issued < count; i++)
                send_one(run, &run->callers[i]);
        loop(run->callers, n_callers, run_finished, run);
        double secs = (double) (now_ns() - run->t0) / 1e9;
        double p50 = pct_ms(run->lat, run->done, 0.5), p99 = pct_ms(run->lat, run->done, 0.99);
        printf("%s %zu %zu %.3f %.1f %.3f %.3f\n", method, count, run->errors, secs, (double) count / secs, p50, p99);
        return run->errors ? 2 : 0;
}

static int cmd_stats(const char *path, size_t count, unsigned gap_ms) {
        sd_bus *bus = connect_bus();
        uint64_t *lat = calloc(count + 1, sizeof(uint64_t));
        unsigned peers = 0;
        for (size_t i = 0; i < count; i++) {
                sd_bus_message *reply = NULL;
                sd_bus_error error = SD_BUS_ERROR_NULL;
                if (gap_ms > 0)
                        usleep(gap_ms * 1000);
                uint64_t t = now_ns();
                int r = sd_bus_call_method(bus, "org.wgnet1", path, "org.wgnet1.Network", "GetStats", &error, &reply, "");
                lat[i] = now_ns() - t;
                if (r < 0) {
                        fprintf(stderr, "GetStats: %s\n", error.message ? error.message : strerror(-r));
                        return 1;
                }
                if (i == 0) {
                        r = sd_bus_message_enter_container(reply, 'a', "(otttbs)");
                        while (r >= 0 && sd_bus_message_skip(reply, "(otttbs)") > 0)
                                peers++;
                }
                sd_bus_message_unref(reply);
        }
        double min = (double) lat[0] / 1e6;
        for (size_t i = 0; i < count; i++)
                if ((double) lat[i] / 1e6 < min)
                        min = (double) lat[i] / 1e6;
        printf("stats %u %.3f %.3f\n", peers, min, pct_ms(lat, count, 0.5));
        return 0;
}

static int cmd_checkauth(const char *action, size_t count) {
        sd_bus *bus = connect_bus();
        const char *unique;
        uint64_t *lat = calloc(count + 1, sizeof(uint64_t));
        int authorized = 0;
        int r = sd_bus_get_unique_name(bus, &unique);
        if (r < 0)
                return 1;
        for (size_t i = 0; i < count; i++) {
                sd_bus_message *reply = NULL;
                sd_bus_error error = SD_BUS_ERROR_NULL;
                uint64_t t = now_ns();
                r = sd_bus_call_method(bus, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                                       "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization", &error, &reply,
                                       "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", unique, action, 0, 0, "");
                lat[i] = now_ns() - t;
                if (r < 0) {
                        fprintf(stderr, "CheckAuthorization: %s\n", error.message ? error.message : strerror(-r));
                        return 1;
                }
                int a = 0, ch = 0;
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &a, &ch);
                authorized += a;
                sd_bus_message_unref(reply);
        }
        double min = (double) lat[0] / 1e6;
        for (size_t i = 0; i < count; i++)
                if ((double) lat[i] / 1e6 < min)
                        min = (double) lat[i] / 1e6;
        printf("checkauth %zu %.3f %.3f %d\n", count, min, pct_ms(lat, count, 0.5), authorized);
        return 0;
}

static int cmd_bulk(const char *path, size_t count, const char *prefix) {
        sd_bus *bus = connect_bus();
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char name[64];
        int r = sd_bus_message_new_method_call(bus, &m, "org.wgnet1", path, "org.wgnet1.Network", "AddPeers");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sa{sv})");
        for (size_t i = 0; r >= 0 && i < count; i++) {
                snprintf(name, sizeof(name), "%s%zu", prefix, i);
                r = sd_bus_message_append(m, "(sa{sv})", name, 0);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return 1;
        uint64_t t = now_ns();
        r = sd_bus_call(bus, m, 3600ULL * 1000000ULL, &error, &reply);
        double secs = (double) (now_ns() - t) / 1e9;
        if (r < 0) {
                fprintf(stderr, "AddPeers: %s\n", error.message ? error.message : strerror(-r));
                return 1;
        }
        printf("bulk %zu %.3f\n", count, secs);
        return 0;
}

/* Readers: like 50 dashboards, each connection reads every 100 ms: a property Get nine
 * times, then GetStats (once a second), one call pending at a time, until stdin closes. */
#define READ_INTERVAL_NS (100ULL * 1000 * 1000)

typedef struct Reader {
        sd_bus *bus;
        sd_bus_slot *slot;
        uint64_t sent, next_at;
        size_t k;
} Reader;

typedef struct Readers {
        const char *path;
        Reader r[MAX_CALLERS];
        size_t n, calls, errors, cap;
        uint64_t *lat;
} Readers;

static Readers *readers_run;

static int on_read(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Reader *c = userdata;
        Readers *rd = readers_run;
        uint64_t t = now_ns();
        (void) ret_error;
        if (rd->calls < rd->cap)
                rd->lat[rd->calls] = t - c->sent;
        rd->calls++;
        if (sd_bus_message_is_method_error(m, NULL) && rd->errors++ < 5)
                fprintf(stderr, "reader error: %s\n", sd_bus_message_get_error(m)->message);
        c->slot = sd_bus_slot_unref(c->slot);
        c->next_at = c->sent + READ_INTERVAL_NS;
        return 0;
}

static void reader_send(Readers *rd, Reader *c) {
        int r;
        c->sent = now_ns();
        if (++c->k % 10 == 0)
                r = sd_bus_call_method_async(c->bus, &c->slot, "org.wgnet1", rd->path, "org.wgnet1.Network", "GetStats",
                                             on_read, c, "");
        else
                r = sd_bus_call_method_async(c->bus, &c->slot, "org.wgnet1", rd->path, "org.freedesktop.DBus.Properties",
                                             "Get", on_read, c, "ss", "org.wgnet1.Network", "PeerCount");
        if (r < 0) {
                fprintf(stderr, "cannot send: %s\n", strerror(-r));
                exit(1);
        }
}

static int cmd_readers(const char *path, size_t n) {
        struct pollfd pfd[MAX_CALLERS + 1];
        Readers *rd = calloc(1, sizeof(Readers));
        bool stop = false;
        if (!rd || n == 0 || n > MAX_CALLERS)
                return 1;
        readers_run = rd;
        rd->path = path;
        rd->n = n;
        rd->cap = 10000000;
        rd->lat = calloc(rd->cap, sizeof(uint64_t));
        for (size_t i = 0; i < n; i++) {
                rd->r[i].bus = connect_bus();
                /* spread the readers over the interval */
                rd->r[i].next_at = now_ns() + READ_INTERVAL_NS * i / n;
        }
        printf("ready\n");
        fflush(stdout);
        for (;;) {
                bool busy = false;
                uint64_t now = now_ns(), wake = now + READ_INTERVAL_NS;
                for (size_t i = 0; i < n; i++) {
                        Reader *c = &rd->r[i];
                        int r;
                        while ((r = sd_bus_process(c->bus, NULL)) > 0)
                                ;
                        if (r < 0) {
                                fprintf(stderr, "bus: %s\n", strerror(-r));
                                exit(1);
                        }
                        if (!c->slot && !stop && c->next_at <= now_ns())
                                reader_send(rd, c);
                        if (c->slot)
                                busy = true;
                        else if (!stop && c->next_at < wake)
                                wake = c->next_at;
                }
                if (stop && !busy)
                        break;
                uint64_t until = UINT64_MAX, now_us = now_ns() / 1000;
                for (size_t i = 0; i < n; i++) {
                        uint64_t t;
                        if (sd_bus_get_timeout(rd->r[i].bus, &t) >= 0 && t < until)
                                until = t;
                        pfd[i] = (struct pollfd) { .fd = sd_bus_get_fd(rd->r[i].bus),
                                                   .events = (short) sd_bus_get_events(rd->r[i].bus) };
                }
                pfd[n] = (struct pollfd) { .fd = stop ? -1 : 0, .events = POLLIN };
                if (wake / 1000 < until)
                        until = wake / 1000;
                int ms = until <= now_us ? 0 : (int) ((until - now_us + 999) / 1000);
                if (poll(pfd, n + 1, ms > 1000 ? 1000 : ms) > 0 && (pfd[n].revents & (POLLIN | POLLHUP))) {
                        char buf[64];
                        if (read(0, buf, sizeof(buf)) <= 0)
                                stop = true;
                }
        }
        size_t k = rd->calls < rd->cap ? rd->calls : rd->cap;
        double p50 = pct_ms(rd->lat, k, 0.5), p99 = pct_ms(rd->lat, k, 0.99);
        printf("readers %zu %zu %.3f %.3f\n", rd->calls, rd->errors, p50, p99);
        return 0;
}

int main(int argc, char **argv) {
        if (argc >= 6 && strcmp(argv[1], "add") == 0)
                return cmd_calls("AddPeer", argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10), argv[5],
                                 argc > 6 ? strtoul(argv[6], NULL, 10) : 0);
        if (argc == 5 && strcmp(argv[1], "bulk") == 0)
                return cmd_bulk(argv[2], strtoul(argv[3], NULL, 10), argv[4]);
        if ((argc == 4 || argc == 5) && strcmp(argv[1], "stats") == 0)
                return cmd_stats(argv[2], strtoul(argv[3], NULL, 10), argc == 5 ? (unsigned) strtoul(argv[4], NULL, 10) : 0);
        if (argc == 4 && strcmp(argv[1], "checkauth") == 0)
                return cmd_checkauth(argv[2], strtoul(argv[3], NULL, 10));
        if (argc == 4 && strcmp(argv[1], "readers") == 0)
                return cmd_readers(argv[2], strtoul(argv[3], NULL, 10));
        fprintf(stderr, "usage: see the comment at the top of bench/bench-bus.c\n");
        return 2;
}
