/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What mesh.c, mesh-coordinator.c and mesh-member.c share. Internal to the daemon. */
#pragma once

#include "mesh.h"

#define MESH_CALL_TIMEOUT_USEC (10ULL * 1000000ULL)
#define MESH_RETRY_USEC (2ULL * 1000000ULL)
#define MESH_JOIN_RETRY_USEC (500ULL * 1000ULL)
#define MESH_REGISTER_GRACE 60          /* seconds an expired invitation's peer stays for a clear error */
#define MESH_KEY_SWITCH_DEADLINE 120    /* seconds for the joiner's key to take over its address */
#define MEMBER_SIGNATURE "(ssassbb)"    /* name, public key, addresses, endpoint, online, exit node */

/* The proof of keys before a control connection carries D-Bus (mesh-relay.c): given up
 * when it is not done within this time. */
#define MESH_AUTH_TIMEOUT_USEC (10ULL * 1000000ULL)
#define MESH_AUTH_NONCE_LEN 32
#define MESH_AUTH_IN_MAX 72             /* the hello: magic, nonce, public key */
/* Connections from one address that did not prove a key yet: a new one closes the oldest
 * (a member's own completes within a round trip; a local user of its host cannot keep it
 * out by holding connections open). */
#define MESH_PENDING_PER_ADDRESS 4
/* The longest message each side takes. A member sends Register, Hello, Heartbeat and Leave
 * (well under 1 KiB); the coordinator sends the member list, about 600 bytes a member at
 * the longest names and addresses: MESH_MAX_MEMBERS fit in 16 MiB. sd-bus alone would
 * take 128 MiB a message. */
#define MESH_MESSAGE_MAX_FROM_MEMBER (64U * 1024U)
#define MESH_MAX_MEMBERS 16384
#define MESH_MESSAGE_MAX_FROM_COORDINATOR (16U * 1024U * 1024U)
/* Messages waiting to go to one member (sd-bus's queue): a member that stops reading is
 * closed when its queue is longer (every list sent replaces the ones before). */
#define MESH_MAX_QUEUED 8

typedef enum RelayAuth {
        RELAY_AUTH_HELLO,               /* waiting for the other side's hello */
        RELAY_AUTH_PROOF,               /* waiting for its proof */
        RELAY_AUTH_DONE,
} RelayAuth;

/* Where the incoming D-Bus stream is: its authentication lines, then message after message. */
#define RELAY_LINE_MAX 256
typedef struct RelayFraming {
        bool server;                    /* the coordinator: the lines are the client's, ending with BEGIN */
        bool messages;                  /* past the lines */
        bool authed, negotiated;        /* server: the client's AUTH line, its NEGOTIATE_UNIX_FD line */
        char line[RELAY_LINE_MAX];      /* the current line (the server's: its first bytes) */
        size_t line_len, text_len;
        uint8_t header[16];
        size_t header_len;
        uint64_t rest;                  /* bytes of the current message still to come */
        uint64_t max;
} RelayFraming;

/* sd-bus (systemd 252) refuses a TCP socket as a connection: it asks the socket for the
 * peer's groups (SO_PEERGROUPS), which only AF_UNIX sockets have. So each TCP connection is
 * relayed into a socketpair whose other end sd-bus gets: after the proof of keys, the bytes
 * are the same D-Bus peer-to-peer stream, nothing is added. */
struct MeshRelay {
        Mesh *mesh;
        int fd[2];                      /* 0: the TCP socket, 1: our end of the socketpair */
        int bus_fd;                     /* coordinator: sd-bus's end, until the member proved its key */
        sd_event_source *src[2];
        sd_event_source *timeout;       /* the proof must come in time */
        uint8_t buf[2][16384];          /* buf[i]: read from fd[i], to be written to fd[1 - i] */
        size_t len[2], off[2];
        bool eof[2];
        bool coordinator;               /* our side */
        RelayAuth auth;
        IpPrefix remote;                /* coordinator: the member's mesh address */
        uint64_t peer_id;               /* coordinator: the member whose key it proved */
        uint64_t created;               /* CLOCK_MONOTONIC µs */
        uint8_t in[MESH_AUTH_IN_MAX];   /* the other side's handshake, as it comes */
        size_t in_len;
        uint8_t nonce[2][MESH_AUTH_NONCE_LEN];  /* 0: the member's, 1: the coordinator's */
        uint8_t key[32];                /* the proofs' key */
        RelayFraming framing;
        MeshRelay *next, *prev;
};

struct MeshConn {
        Mesh *mesh;
        sd_bus *bus;
        sd_bus_slot *slots[2];          /* the vtable and the Disconnected match */
        IpPrefix remote;                /* the member's mesh address, as a host prefix */
        uint64_t peer_id;               /* 0 until it registered or said hello */
        bool greeted;                   /* a Hello was answered on this connection */
        uint64_t accepted;              /* CLOCK_MONOTONIC µs */
        MeshConn *next, *prev;
};

/* Shared between the files (mesh.c: the relay, closing connections, helpers;
 * mesh-coordinator.c: connections, add_peer, coordinator_start; mesh-member.c: the control
 * channel of a member; mesh-join.c: joining and leaving). */
void bus_close_later(sd_bus *bus);
int relay_new(Mesh *mesh, int tcp_fd, const IpPrefix *remote, int *ret_fd);
void relay_free(MeshRelay *r);
int relay_frame(RelayFraming *f, const uint8_t *p, size_t n);
/* The member proved its key on this relay: its D-Bus connection (mesh-listen.c). */
int coordinator_conn_new(MeshRelay *relay);
Peer *find_peer_by_address(Network *n, const IpPrefix *host);
uint64_t now_sec(void);
int append_members(Mesh *mesh, sd_bus_message *m);
IpPrefix host_of(const IpPrefix *a);
void conn_free(MeshConn *c);
void member_disconnect(Mesh *mesh);
void coordinator_start(Mesh *mesh);
int coordinator_listen(Mesh *mesh);
void coordinator_stop(Mesh *mesh);
extern const sd_bus_vtable mesh_control_vtable[];
/* The mesh's row in its own transaction (rolled back on failure). */
int mesh_save(Mesh *mesh);
void member_start(Mesh *mesh);
int member_connect(Mesh *mesh);
void member_schedule(Mesh *mesh, uint64_t usec);
int member_call(Mesh *mesh, const char *method, sd_bus_message_handler_t cb, uint64_t timeout);
void forget_call(Mesh *mesh, sd_bus_message *m);
void member_fail_join(Mesh *mesh, const sd_bus_error *e);
/* A heartbeat now, when connected (the exit flag changed). */
void member_heartbeat_now(Mesh *mesh);
/* Routes the default traffic through the chosen exit node, or back (mesh-exit.c). */
void member_apply_exit(Mesh *mesh);
/* A Leave done here; unconfirmed names why the coordinator did not confirm it (NULL: it did). */
void member_finish_leave(Mesh *mesh, const char *unconfirmed);
int add_peer(Network *n, const char *name, const uint8_t key[WG_KEY_LEN], const IpPrefix *addrs, size_t n_addrs,
             bool auto_addresses, Peer **ret, sd_bus_error *error);
