/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Meshes, the coordinating host: the listener of the control channel, the connections it
 * accepts and their limits (docs/mesh.md). A connection becomes a D-Bus connection only
 * once the member proved its key (mesh-relay.c). */

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "network.h"
#include "mesh-internal.h"

static int on_conn_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MeshConn *c = userdata;
        log_debug("%s: coordination connection closed", c->mesh->network->name);
        conn_free(c);
        return 0;
}

/* A member needs one control connection (two while it reconnects): a fifth from one member
 * closes its oldest, so that no member can take the daemon's memory and file descriptors. */
#define MESH_CONNS_PER_ADDRESS 4

static int on_accept_again(sd_event_source *s, uint64_t usec, void *userdata) {
        Mesh *mesh = userdata;
        if (mesh->listen_source)
                (void) sd_event_source_set_enabled(mesh->listen_source, SD_EVENT_ON);
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Mesh *mesh = userdata;
        Manager *mgr = mesh->network->manager;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa;
        socklen_t salen = sizeof(sa);
        int cfd = accept4(fd, &sa.sa, &salen, SOCK_CLOEXEC | SOCK_NONBLOCK);
        int r;

        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* The connection stays queued and the socket readable: without a pause
                         * the loop would spin on it. */
                        log_warning("%s: cannot accept a mesh connection: %s; pausing for 1 s", mesh->network->name,
                                    strerror(errno));
                        (void) sd_event_source_set_enabled(mesh->listen_source, SD_EVENT_OFF);
                        if (!mesh->accept_pause)
                                (void) sd_event_add_time_relative(mgr->event, &mesh->accept_pause, CLOCK_MONOTONIC,
                                                                  1000000, 0, on_accept_again, mesh);
                        else {
                                (void) sd_event_source_set_time_relative(mesh->accept_pause, 1000000);
                                (void) sd_event_source_set_enabled(mesh->accept_pause, SD_EVENT_ONESHOT);
                        }
                }
                return 0;
        }
        IpPrefix remote = { 0 };
        if (sa.sa.sa_family == AF_INET) {
                remote.family = AF_INET;
                remote.prefixlen = 32;
                memcpy(remote.addr.bytes, &sa.in.sin_addr, 4);
        } else {
                remote.family = AF_INET6;
                remote.prefixlen = 128;
                memcpy(remote.addr.bytes, &sa.in6.sin6_addr, 16);
        }
        /* Connections that did not prove a key yet: the oldest from this address goes. */
        unsigned pending = 0;
        MeshRelay *oldest = NULL;
        for (MeshRelay *o = mesh->relays; o; o = o->next)
                if (o->auth != RELAY_AUTH_DONE && ip_prefix_equal(&o->remote, &remote)) {
                        pending++;
                        oldest = o;     /* newest first: the last one is the oldest */
                }
        if (pending >= MESH_PENDING_PER_ADDRESS && oldest) {
                log_debug("%s: %u mesh connections from one address without a proof: closing the oldest",
                          mesh->network->name, pending);
                relay_free(oldest);
        }
        r = relay_new(mesh, cfd, &remote, NULL);
        if (r < 0)
                log_warning("%s: cannot set up a coordination connection: %s", mesh->network->name, strerror(-r));
        return 0;
}

/* The member proved its key: the connection is handed to sd-bus. */
int coordinator_conn_new(MeshRelay *relay) {
        Mesh *mesh = relay->mesh;
        Manager *mgr = mesh->network->manager;
        sd_id128_t id;
        int r;

        /* Only the member itself gets here: its older connections are stale ones. */
        unsigned same = 0;
        MeshConn *oldest = NULL;
        for (MeshConn *o = mesh->conns; o; o = o->next)
                if (ip_prefix_equal(&o->remote, &relay->remote)) {
                        same++;
                        oldest = o;
                }
        if (same >= MESH_CONNS_PER_ADDRESS && oldest) {
                log_debug("%s: %u mesh connections from one member: closing the oldest", mesh->network->name, same);
                conn_free(oldest);
        }
        MeshConn *c = calloc(1, sizeof(MeshConn));
        if (!c)
                return -ENOMEM;
        c->mesh = mesh;
        c->remote = relay->remote;
        c->accepted = relay->created;
        c->next = mesh->conns;
        if (mesh->conns)
                mesh->conns->prev = c;
        mesh->conns = c;

        int bfd = TAKE_FD(relay->bus_fd);
        r = sd_bus_new(&c->bus);
        if (r >= 0)
                r = sd_bus_set_fd(c->bus, bfd, bfd);
        if (r >= 0) {
                bfd = -1;
                r = sd_id128_randomize(&id);
        }
        if (bfd >= 0)
                close(bfd);
        if (r >= 0)
                r = sd_bus_set_server(c->bus, true, id);
        if (r >= 0)
                r = sd_bus_set_anonymous(c->bus, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(c->bus, false);
        if (r >= 0)
                r = sd_bus_add_object_vtable(c->bus, &c->slots[0], WGNET_MESH_CONTROL_PATH, WGNET_MESH_CONTROL_INTERFACE,
                                             mesh_control_vtable, c);
        if (r >= 0)
                r = sd_bus_match_signal(c->bus, &c->slots[1], NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_conn_disconnected, c);
        if (r >= 0)
                r = sd_bus_start(c->bus);
        if (r >= 0)
                r = sd_bus_attach_event(c->bus, mgr->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                log_warning("%s: cannot set up a coordination connection: %s", mesh->network->name, strerror(-r));
                conn_free(c);
        }
        return r;
}

/* Listen on the coordinator's mesh address, on the WireGuard interface only: a packet that
 * arrives on another interface never reaches this socket, so whatever connects came in
 * through WireGuard from the peer that owns its source address. */
int coordinator_listen(Mesh *mesh) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        const IpPrefix *a = NULL;
        int one = 1, r;

        if (mesh->listen_fd >= 0 || !n->active || !mgr->event)
                return 0;
        for (size_t i = 0; i < n->n_subnets && !a; i++)
                if (n->subnets[i].family == AF_INET)
                        a = &n->subnets[i];
        if (!a && n->n_subnets > 0)
                a = &n->subnets[0];
        if (!a)
                return -EADDRNOTAVAIL;
        _cleanup_(closep) int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, n->ifname, (socklen_t) strlen(n->ifname)) < 0)
                return -errno;
        if (a->family == AF_INET) {
                struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(MESH_CONTROL_PORT) };
                memcpy(&sin.sin_addr, a->addr.bytes, 4);
                (void) setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
                r = bind(fd, (struct sockaddr *) &sin, sizeof(sin));
        } else {
                struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(MESH_CONTROL_PORT) };
                memcpy(&sin6.sin6_addr, a->addr.bytes, 16);
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
                r = bind(fd, (struct sockaddr *) &sin6, sizeof(sin6));
        }
        if (r < 0 || listen(fd, 64) < 0)
                return -errno;
        r = sd_event_add_io(mgr->event, &mesh->listen_source, fd, EPOLLIN, on_accept, mesh);
        if (r < 0)
                return r;
        mesh->listen_fd = TAKE_FD(fd);
        mesh->listen_ifindex = if_nametoindex(n->ifname);
        char buf[IP_PREFIX_STRLEN];
        log_info("%s: mesh coordinator listening on %s port %u (interface %s)", n->name, ip_addr_to_string(a, buf),
                 MESH_CONTROL_PORT, n->ifname);
        return 0;
}

void coordinator_stop(Mesh *mesh) {
        while (mesh->conns)
                conn_free(mesh->conns);
        /* Those that did not prove a key yet have no D-Bus connection to close them. */
        for (MeshRelay *r = mesh->relays, *next; r; r = next) {
                next = r->next;
                if (r->auth != RELAY_AUTH_DONE)
                        relay_free(r);
        }
        mesh->listen_source = sd_event_source_disable_unref(mesh->listen_source);
        mesh->accept_pause = sd_event_source_disable_unref(mesh->accept_pause);
        if (mesh->listen_fd >= 0)
                close(mesh->listen_fd);
        mesh->listen_fd = -1;
}

