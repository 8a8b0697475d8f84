/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host names in configured peer Endpoints (from imported wg-quick configs) are looked up
 * off the event loop: a short-lived child process calls getaddrinfo() and writes the first
 * address into a pipe, which the loop watches. A failed lookup is tried again after a
 * minute (the tick asks again while the device peer has no endpoint). */
#include <netdb.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "network.h"
#include "peer.h"
#include "bus-util.h"
#include <fcntl.h>

#define RESOLVE_RETRY_USEC (60 * UINT64_C(1000000))
#define RESOLVE_TIMEOUT_SEC 30
/* At most this many lookups at once (an import of many host-name endpoints would otherwise
 * fork that many copies of the daemon in one tick); the others wait for a later tick. */
#define RESOLVE_CONCURRENT_MAX 8

typedef struct Lookup {
        Manager *manager;
        uint64_t peer_id;
        char *endpoint;                 /* what was looked up: the peer's may change meanwhile */
        pid_t pid;
        sd_event_source *source;
} Lookup;

static unsigned lookups_running;

static void lookup_free(void *userdata) {
        Lookup *l = userdata;
        free(l->endpoint);
        free(l);
        lookups_running--;
}

/* "host:port" or "[host]:port" → host and port; false when malformed. */
static bool split_endpoint(const char *s, char *host, size_t host_size, char *port, size_t port_size) {
        const char *colon, *h = s;
        size_t len;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close[1] != ':')
                        return false;
                h = s + 1;
                len = (size_t) (close - h);
                colon = close + 1;
        } else {
                colon = strrchr(s, ':');
                if (!colon)
                        return false;
                len = (size_t) (colon - s);
        }
        if (len == 0 || len >= host_size || strlen(colon + 1) == 0 || strlen(colon + 1) >= port_size)
                return false;
        memcpy(host, h, len);
        host[len] = 0;
        strcpy(port, colon + 1);
        return true;
}

_Noreturn static void lookup_child(int fd, const char *host, const char *port) {
        struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_protocol = IPPROTO_UDP }, *res = NULL;
        WgEndpoint e = {0};
        sigset_t none;

        /* The daemon's signal mask (SIGTERM, SIGINT blocked for the loop) would make a stop
         * wait for this child; the daemon's descriptors (the bus connection among them)
         * stay with the daemon: only the pipe is kept, as fd 3. */
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        if (fd != 3 && dup2(fd, 3) < 0)
                _exit(1);
        fd = 3;
        (void) syscall(SYS_close_range, 4U, ~0U, 0U);
        alarm(RESOLVE_TIMEOUT_SEC);
        if (getaddrinfo(host, port, &hints, &res) == 0) {
                for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
                        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) && ai->ai_addrlen <= sizeof(e)) {
                                memcpy(&e, ai->ai_addr, ai->ai_addrlen);
                                break;
                        }
                freeaddrinfo(res);
        }
        if (e.sa.sa_family != AF_UNSPEC)
                (void) !write(fd, &e, sizeof(e));
        _exit(0);
}

static int on_lookup_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Lookup *l = userdata;
        WgEndpoint e = {0};
        ssize_t k = read(fd, &e, sizeof(e));

        (void) waitpid(l->pid, NULL, 0);        /* it wrote (or died): exiting now */
        Peer *p = hashmap_get(l->manager->peers_by_id, &l->peer_id);
        if (p && !streq_ptr(p->remote_endpoint, l->endpoint)) {
                /* The endpoint changed while this one was looked up: the new one next. */
                p->resolving = false;
                p->resolve_after = 0;
        } else if (p) {
                p->resolving = false;
                if (k == (ssize_t) sizeof(e) && (e.sa.sa_family == AF_INET || e.sa.sa_family == AF_INET6)) {
                        char buf[WG_ENDPOINT_STRLEN];
                        p->remote_resolved = e;
                        p->endpoint_new = true;
                        log_info("%s: endpoint %s of peer '%s' is %s", p->network->ifname, p->remote_endpoint, p->name,
                                 wg_endpoint_to_string(&e, buf));
                        if (p->enabled) {
                                int r = network_apply_peer(p->network, p, false);
                                if (r < 0)
                                        log_warning("%s: cannot set the endpoint of peer '%s': %s", p->network->ifname,
                                                    p->name, strerror(-r));
                        }
                } else {
                        p->resolve_after = now_monotonic_usec() + RESOLVE_RETRY_USEC;
                        log_warning("%s: cannot resolve endpoint %s of peer '%s'; trying again in a minute",
                                    p->network->ifname, p->remote_endpoint, p->name);
                }
        }
        /* The loop held the only reference (floating): dropping it frees the source, the
         * pipe and l (sd-event defers the free until this dispatch returns). */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        (void) sd_event_source_set_floating(s, false);
        return 0;
}

void peer_resolve_endpoint(Peer *p) {
        Manager *m = p->network->manager;
        char host[256], port[16];
        int fds[2];

        if (p->resolving || now_monotonic_usec() < p->resolve_after || !m->event ||
            lookups_running >= RESOLVE_CONCURRENT_MAX)
                return;
        p->resolve_after = now_monotonic_usec() + RESOLVE_RETRY_USEC;
        if (!split_endpoint(p->remote_endpoint, host, sizeof(host), port, sizeof(port))) {
                log_warning("%s: endpoint '%s' of peer '%s' is malformed", p->network->ifname, p->remote_endpoint, p->name);
                return;
        }
        Lookup *l = calloc(1, sizeof(Lookup));
        if (l)
                l->endpoint = strdup(p->remote_endpoint);
        if (!l || !l->endpoint || pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
                if (l)
                        free(l->endpoint);
                free(l);
                return;
        }
        l->manager = m;
        l->peer_id = p->id;
        l->pid = fork();
        if (l->pid == 0) {
                close(fds[0]);
                lookup_child(fds[1], host, port);
        }
        close(fds[1]);
        if (l->pid < 0 || sd_event_add_io(m->event, &l->source, fds[0], EPOLLIN, on_lookup_done, l) < 0) {
                if (l->pid > 0) {
                        (void) kill(l->pid, SIGKILL);
                        (void) waitpid(l->pid, NULL, 0);
                }
                close(fds[0]);
                free(l->endpoint);
                free(l);
                return;
        }
        /* From here the loop owns the source, the pipe and l: a lookup still running at exit
         * is freed with the loop. */
        lookups_running++;
        (void) sd_event_source_set_io_fd_own(l->source, true);
        (void) sd_event_source_set_destroy_callback(l->source, lookup_free);
        (void) sd_event_source_set_floating(l->source, true);
        sd_event_source_unref(l->source);
        p->resolving = true;
        log_debug("%s: resolving endpoint %s of peer '%s'", p->network->ifname, p->remote_endpoint, p->name);
}
