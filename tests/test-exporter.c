/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnet-exporter (the built program) against a stand-in for the system bus: a unix socket
 * whose one connection this test serves with sd-bus in server mode. It answers Hello
 * itself, as dbus-daemon would, and plays wgnetd for the exporter's calls: it records
 * whether each call allows auto-start, and can answer late or never. No root and no
 * dbus-daemon needed (the unit suite starts no bus); the same behaviour against the real
 * dbus-daemon and wgnetd is in tests/integration/test-metrics.py.
 *
 * Checked: no call allows auto-start (a scrape must not start a stopped wgnetd); a wgnetd
 * that never answers, answers slowly, or a bus that never finishes the connection, gets a
 * 200 with wgnet_up 0 once the collect deadline is over; a client that does not finish its
 * request is cut off after 2 s. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "test.h"
#include "wgnet-error.h"

#define PENDING_MAX 64

typedef struct FakeBus {
        /* what to do */
        bool no_auth;                   /* accept the connection, then say nothing at all */
        bool silent;                    /* never answer wgnetd's methods */
        bool old_daemon;                /* a wgnetd without GetMetricsColumns (UnknownMethod) */
        unsigned n_networks;            /* ListNetworks answers this many */
        uint64_t delay_usec;            /* each answer this late */
        /* what happened */
        unsigned n_calls;               /* method calls to org.wgnet1 */
        unsigned n_auto_start;          /* … of which allowed the bus to start wgnetd */
        sd_bus_message *pending[PENDING_MAX];
        uint64_t due[PENDING_MAX];
        size_t n_pending;
} FakeBus;

typedef struct Scrape {
        int status;                     /* the exporter's exit status, -1 if killed */
        double seconds;                 /* from its start to its exit */
        char out[65536];                /* what it wrote */
        size_t n_out;
} Scrape;

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int answer(sd_bus_message *call, const FakeBus *f) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *member = sd_bus_message_get_member(call);
        int r = sd_bus_message_new_method_return(call, &reply);
        if (r < 0)
                return r;
        if (streq(member, "ListNetworks")) {
                r = sd_bus_message_open_container(reply, 'a', "(so)");
                for (unsigned i = 0; r >= 0 && i < f->n_networks; i++) {
                        char name[32], path[64];
                        snprintf(name, sizeof(name), "net%u", i);
                        snprintf(path, sizeof(path), "/org/wgnet1/network/%u", i + 1);
                        r = sd_bus_message_append(reply, "(so)", name, path);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        } else if (streq(member, "GetAll")) {
                char ifname[32];
                snprintf(ifname, sizeof(ifname), "wgt%s", strrchr(sd_bus_message_get_path(call), '/') + 1);
                r = sd_bus_message_append(reply, "a{sv}", 4, "Interface", "s", ifname, "Active", "b", 1, "PeerCount",
                                          "u", 0, "OnlinePeerCount", "u", 0);
        } else if (streq(member, "GetMetricsColumns") && !f->old_daemon)
                r = sd_bus_message_append(reply, "asayasatatatay", 0, 0, 0, 0, 0, 0, 0);
        else
                return sd_bus_reply_method_errorf(call, SD_BUS_ERROR_UNKNOWN_METHOD, "No %s here", member);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int on_message(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FakeBus *f = userdata;

        if (!sd_bus_message_is_method_call(m, NULL, NULL))
                return 0;
        if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus", "Hello"))
                return sd_bus_reply_method_return(m, "s", ":1.42");
        if (!streq_ptr(sd_bus_message_get_destination(m), WGNET_BUS_NAME))
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_SERVICE_UNKNOWN, "Not here");
        f->n_calls++;
        if (sd_bus_message_get_auto_start(m))
                f->n_auto_start++;
        if (f->silent)
                return 1;
        if (f->n_pending >= PENDING_MAX)
                return -ENOBUFS;
        f->pending[f->n_pending] = sd_bus_message_ref(m);
        f->due[f->n_pending++] = now_usec() + f->delay_usec;
        return 1;
}

static int answer_due(FakeBus *f, uint64_t *next) {
        uint64_t now = now_usec();
        size_t kept = 0;
        int r = 0;

        *next = UINT64_MAX;
        for (size_t i = 0; i < f->n_pending; i++) {
                if (f->due[i] > now) {
                        *next = MIN(*next, f->due[i]);
                        f->due[kept] = f->due[i];
                        f->pending[kept++] = f->pending[i];
                        continue;
                }
                if (r >= 0)
                        r = answer(f->pending[i], f);
                sd_bus_message_unref(f->pending[i]);
        }
        f->n_pending = kept;
        return r;
}

static void fake_bus_done(FakeBus *f) {
        for (size_t i = 0; i < f->n_pending; i++)
                sd_bus_message_unref(f->pending[i]);
        f->n_pending = 0;
}

static const char *exporter_path(void) {
        static char path[4096];
        const char *build = getenv("WGNET_BUILD_ROOT");
        snprintf(path, sizeof(path), "%s/exporter/wgnet-exporter", build ? build : "build");
        return path;
}

static void drain(int fd, Scrape *s) {
        for (;;) {
                ssize_t k = read(fd, s->out + s->n_out, sizeof(s->out) - 1 - s->n_out);
                if (k <= 0)
                        break;
                s->n_out += (size_t) k;
        }
        s->out[s->n_out] = 0;
}

/* The HTTP request scrape() sends, when not the plain GET. */
static const char *http_request;

/* Run the exporter once against f: over HTTP (a GET /metrics on a socket pair) or with
 * --stdout. collect_ms: WGNET_EXPORTER_COLLECT_TIMEOUT_MS for it, or NULL. */
static void scrape(FakeBus *f, bool http, const char *collect_ms, Scrape *ret) {
        char dir[] = "/tmp/wgnet-test-exporter-XXXXXX", address[256];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int listener, conn = -1, io[2];
        pid_t pid;

        *ret = (Scrape) { .status = -1 };
        ASSERT_TRUE(mkdtemp(dir));
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/bus", dir);
        snprintf(address, sizeof(address), "unix:path=%s", sa.sun_path);
        listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ASSERT_TRUE(listener >= 0);
        ASSERT_OK(bind(listener, (struct sockaddr *) &sa, sizeof(sa)));
        ASSERT_OK(listen(listener, 4));
        if (http)
                ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io));
        else
                ASSERT_OK(pipe2(io, O_CLOEXEC));

        uint64_t t0 = now_usec();
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                int fd = io[1];
                if (dup2(fd, STDOUT_FILENO) < 0 || (http && dup2(fd, STDIN_FILENO) < 0))
                        _exit(126);
                setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1);
                if (collect_ms)
                        setenv("WGNET_EXPORTER_COLLECT_TIMEOUT_MS", collect_ms, 1);
                else
                        unsetenv("WGNET_EXPORTER_COLLECT_TIMEOUT_MS");
                execl(exporter_path(), "wgnet-exporter", http ? NULL : "--stdout", (char *) NULL);
                _exit(127);
        }
        close(io[1]);
        if (http) {
                const char *req = http_request ? http_request : "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
                ASSERT_EQ(write(io[0], req, strlen(req)), (ssize_t) strlen(req));
                shutdown(io[0], SHUT_WR);
        }
        (void) fcntl(io[0], F_SETFL, O_NONBLOCK);

        int status;
        for (;;) {
                uint64_t next = UINT64_MAX;
                if (bus) {
                        int r;
                        while ((r = sd_bus_process(bus, NULL)) > 0)
                                ;
                        if (r >= 0)
                                r = answer_due(f, &next);
                        if (r < 0 && r != -ECONNRESET && r != -ENOTCONN)
                                TEST_FAIL("fake bus: %s", strerror(-r));
                }
                drain(io[0], ret);
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
                if (now_usec() - t0 > 30 * 1000000ULL) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        TEST_FAIL("the exporter did not finish in 30 s");
                }
                if (conn < 0 && (conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0 &&
                    !f->no_auth) {
                        sd_id128_t id;
                        ASSERT_OK(sd_id128_randomize(&id));
                        ASSERT_OK(sd_bus_new(&bus));
                        ASSERT_OK(sd_bus_set_fd(bus, conn, conn));
                        ASSERT_OK(sd_bus_set_server(bus, 1, id));
                        ASSERT_OK(sd_bus_add_filter(bus, NULL, on_message, f));
                        ASSERT_OK(sd_bus_start(bus));
                        continue;
                }
                uint64_t wait = 20000, now = now_usec();
                if (next != UINT64_MAX)
                        wait = MIN(wait, next > now ? next - now : 0);
                if (bus)
                        (void) sd_bus_wait(bus, wait);
                else
                        usleep((useconds_t) wait);
        }
        ret->seconds = (double) (now_usec() - t0) / 1e6;
        drain(io[0], ret);
        ret->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (!bus && conn >= 0)
                close(conn);    /* else the bus owns it */
        close(io[0]);
        close(listener);
        unlink(sa.sun_path);
        rmdir(dir);
}

TEST(calls_never_start_wgnetd) {
        FakeBus f = { .n_networks = 2 };
        Scrape s;

        scrape(&f, false, NULL, &s);
        fake_bus_done(&f);
        ASSERT_EQ(s.status, 0);
        ASSERT_TRUE(strstr(s.out, "\nwgnet_up 1\n"));
        ASSERT_TRUE(strstr(s.out, "\nwgnet_network_active{interface=\"wgt2\",network=\"net1\"} 1\n"));
        ASSERT_EQ(f.n_calls, 5);        /* ListNetworks, then GetAll and GetMetricsColumns twice */
        ASSERT_EQ(f.n_auto_start, 0);
}

/* A wgnetd older than the exporter (no GetMetricsColumns, not restarted after an upgrade)
 * answers UnknownMethod, as sd-bus does for a network deleted meanwhile: the exporter asks
 * the network again, and the scrape fails (wgnet_up 0) instead of showing no networks. */
TEST(old_wgnetd_is_no_quiet_host) {
        FakeBus f = { .n_networks = 1, .old_daemon = true };
        Scrape s;

        scrape(&f, false, NULL, &s);
        fake_bus_done(&f);
        ASSERT_TRUE(strstr(s.out, "\nwgnet_up 0\n"));
        ASSERT_FALSE(strstr(s.out, "\nwgnet_network_active{"));
}

/* The request line's version is checked, and what a browser sends is refused (a page that
 * rebinds its name to this host would read the metrics as its own origin). */
TEST(http_requests_checked) {
        static const struct {
                const char *request, *status;
        } cases[] = {
                { "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", "HTTP/1.1 200 OK\r\n" },
                { "GET /metrics HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\n" },
                { "GET /metrics HTTP/9.9\r\n\r\n", "HTTP/1.1 400 " },
                { "GET /metrics HTTP/1.10\r\n\r\n", "HTTP/1.1 400 " },
                { "GET /metrics\r\n\r\n", "HTTP/1.1 400 " },
                { "GET /metrics XYZ\r\n\r\n", "HTTP/1.1 400 " },
                { "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9586\r\nSec-Fetch-Site: same-origin\r\n\r\n",
                  "HTTP/1.1 403 " },
                /* a page rebinding its own name to this host sends no Sec-Fetch-* over plain
                 * http, nor Origin for a same-origin GET: its Host is what gives it away */
                { "GET /metrics HTTP/1.1\r\nHost: rebound.example:9586\r\nAccept: */*\r\n\r\n", "HTTP/1.1 403 " },
                { "GET /metrics HTTP/1.1\r\nhost:[::1]:9586\r\n\r\n", "HTTP/1.1 200 OK\r\n" },
                { "GET /metrics HTTP/1.1\r\nHost: 192.0.2.7:9586\r\n\r\n", "HTTP/1.1 200 OK\r\n" },
                { "GET /metrics HTTP/1.1\r\nHost: LOCALHOST\r\n\r\n", "HTTP/1.1 200 OK\r\n" },
                { "GET /metrics HTTP/1.1\r\nHost: gw1.example.com:9586\r\n\r\n", "HTTP/1.1 200 OK\r\n" },
                { "GET /metrics HTTP/1.1\r\nHost: gw1.example.com.evil:9586\r\n\r\n", "HTTP/1.1 403 " },
                { "GET /metrics HTTP/1.1\r\nHost: [::1\r\n\r\n", "HTTP/1.1 403 " },
                { "GET /metrics HTTP/1.1\r\nHost: rebound.example:9586\r\norigin: http://rebound.example\r\n\r\n",
                  "HTTP/1.1 403 " },
        };
        setenv("WGNET_EXPORTER_HOSTS", "prom.example,gw1.example.com", 1);    /* the child inherits it */
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                FakeBus f = { .n_networks = 1 };
                Scrape s;
                http_request = cases[i].request;
                scrape(&f, true, NULL, &s);
                fake_bus_done(&f);
                if (strncmp(s.out, cases[i].status, strlen(cases[i].status)) != 0)
                        TEST_FAIL("request %zu: expected '%s', got '%.40s'", i, cases[i].status, s.out);
        }
        http_request = NULL;
        unsetenv("WGNET_EXPORTER_HOSTS");
}

/* An HTTP answer: 200, wgnet_up 0, and wgnet_exporter_collect_seconds at least min_s. */
static void assert_up_0(const Scrape *s, double min_s) {
        const char *c;
        ASSERT_EQ(s->status, 0);
        ASSERT_TRUE(strncmp(s->out, "HTTP/1.1 200 OK\r\n", 17) == 0);
        ASSERT_TRUE(strstr(s->out, "\r\n\r\n# HELP wgnet_up "));
        ASSERT_TRUE(strstr(s->out, "\nwgnet_up 0\n"));
        ASSERT_FALSE(strstr(s->out, "\nwgnet_network_active{"));
        c = strstr(s->out, "\nwgnet_exporter_collect_seconds ");
        ASSERT_TRUE(c);
        ASSERT_TRUE(strtod(c + strlen("\nwgnet_exporter_collect_seconds "), NULL) >= min_s);
}

TEST(hung_wgnetd_answered_by_the_deadline) {
        FakeBus f = { .silent = true };
        Scrape s;

        scrape(&f, true, "500", &s);
        fake_bus_done(&f);
        assert_up_0(&s, 0.5);
        ASSERT_TRUE(s.seconds < 2.5);
        ASSERT_EQ(f.n_calls, 1);        /* ListNetworks, never answered */
}

/* Seven answers 300 ms late each would take 2.1 s, each within a per-call timeout of 1 s:
 * the deadline is for them all. */
TEST(one_deadline_for_all_calls) {
        FakeBus f = { .n_networks = 3, .delay_usec = 300000 };
        Scrape s;

        scrape(&f, true, "1000", &s);
        fake_bus_done(&f);
        assert_up_0(&s, 1.0);
        ASSERT_TRUE(s.seconds < 2.0);
        ASSERT_TRUE(f.n_calls >= 3 && f.n_calls <= 4);
}

/* A bus that accepts the connection and then says nothing (no authentication, no Hello). */
TEST(silent_bus_answered_by_the_deadline) {
        FakeBus f = { .no_auth = true };
        Scrape s;

        scrape(&f, true, "500", &s);
        assert_up_0(&s, 0.5);
        ASSERT_TRUE(s.seconds < 2.5);
}

/* The built-in bound (5 s), which the environment cannot raise. */
TEST(default_deadline_not_raised_by_the_environment) {
        FakeBus f = { .silent = true };
        Scrape s;

        scrape(&f, true, "60000", &s);
        fake_bus_done(&f);
        assert_up_0(&s, 5.0);
        ASSERT_TRUE(s.seconds < 8.0);
}

/* A client that sends half a request and then nothing holds its connection (and a slot of
 * the socket unit's) for the request's 2 s, then gets a 400. */
TEST(unfinished_request_cut_off_after_2_s) {
        static const char part[] = "GET /metrics HTTP/1.1\r\nHost: loc";
        char buf[4096];
        size_t n = 0;
        int sv[2], status;

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
        uint64_t t0 = now_usec();
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0)
                        _exit(126);
                setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/wgnet-test-bus", 1);
                execl(exporter_path(), "wgnet-exporter", (char *) NULL);
                _exit(127);
        }
        close(sv[1]);
        ASSERT_EQ(write(sv[0], part, sizeof(part) - 1), (ssize_t) sizeof(part) - 1);
        for (;;) {
                struct pollfd p = { .fd = sv[0], .events = POLLIN };
                if (poll(&p, 1, 10000) <= 0)
                        break;
                ssize_t k = read(sv[0], buf + n, sizeof(buf) - 1 - n);
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        double seconds = (double) (now_usec() - t0) / 1e6;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        close(sv[0]);
        ASSERT_TRUE(strncmp(buf, "HTTP/1.1 400 ", 13) == 0);
        ASSERT_TRUE(seconds >= 1.9 && seconds < 4.0);
}

TEST_MAIN()
