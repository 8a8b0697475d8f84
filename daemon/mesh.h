/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Mesh networks (docs/mesh.md): a network in mode "mesh". On the coordinating host its peers
 * are the members; on a member host (made by Manager.JoinMesh) its peers are the
 * coordinator and the other members, configured as direct peers. The coordination channel
 * is D-Bus peer-to-peer over TCP inside the WireGuard tunnel: the coordinator listens on its
 * mesh address (port MESH_CONTROL_PORT, bound to the WireGuard interface), so every
 * connection comes from a mesh address that WireGuard's cryptokey routing ties to one
 * member's key; and before any D-Bus passes, both sides prove that they hold the private
 * key of their end (mesh-relay.c), which a local user of either host does not. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "addr.h"
#include "hashmap.h"
#include "keys.h"
#include "macro.h"
#include "network.h"
#include "pairing.h"
#include "wgdevice.h"

#define WGNET_MESH_INTERFACE "org.wgnet1.Mesh"
#define WGNET_MESH_MEMBER_INTERFACE "org.wgnet1.MeshMember"
/* The interface of the coordination channel (peer to peer, never on the system bus). */
#define WGNET_MESH_CONTROL_INTERFACE "org.wgnet1.MeshControl"
#define WGNET_MESH_CONTROL_PATH "/org/wgnet1/mesh"
#define MESH_CONTROL_PORT 51821
#define MESH_DEFAULT_HEARTBEAT 30               /* seconds */
#define MESH_DEFAULT_OFFLINE_AFTER 120          /* seconds */
#define MESH_DEFAULT_INVITATION_LIFETIME 3600   /* seconds */
#define MESH_DEFAULT_JOIN_TIMEOUT 20            /* seconds */
#define MESH_COORDINATOR_PEER_NAME "coordinator"

typedef enum MeshRole {
        MESH_ROLE_COORDINATOR,
        MESH_ROLE_MEMBER,
        _MESH_ROLE_MAX,
} MeshRole;

typedef struct MeshConn MeshConn;
typedef struct MeshRelay MeshRelay;

/* Mesh state of one peer of a mesh network. */
typedef struct MeshPeer {
        uint64_t peer_id;
        /* Coordinator: an invitation reserved this peer (its key is the invitation's
         * one-time key until the joiner registers). */
        bool invitation;
        uint8_t invitation_id[PAIRING_ID_LEN];
        uint64_t invitation_expires;    /* seconds since the epoch */
        bool registered;                /* the invitation was redeemed */
        bool exit_node;                 /* offers itself as exit node */
        bool left;                      /* coordinator: called Leave, removed by the next check (kept in the database) */
        char *endpoint;                 /* member side: where to send, "" unknown */
        /* Member, not stored: when it was put on the device, when it was last re-set there. */
        uint64_t since, kicked;         /* CLOCK_MONOTONIC µs */
        /* Coordinator, not stored. */
        bool online;
        uint64_t last_seen;             /* CLOCK_MONOTONIC µs */
} MeshPeer;

typedef struct Mesh {
        Network *network;
        MeshRole role;
        uint32_t heartbeat;             /* seconds */
        uint32_t offline_after;         /* seconds */
        bool exit_node;                 /* this host offers itself as exit node */
        char *exit_via;                 /* member: name of the chosen exit node, "" none */
        Hashmap *peers;                 /* uint64_t peer id -> MeshPeer */
        bool checked;                   /* what a crash may have left half done is repaired */
        bool unsaved;                   /* loaded without its row in the database: written at the first tick */
        uint64_t online_grace_until;    /* coordinator: CLOCK_MONOTONIC; no one goes offline before */

        /* Member. */
        bool joined;                    /* registered with the coordinator */
        uint8_t coordinator_key[WG_KEY_LEN];
        char *coordinator_endpoint;
        IpPrefix coordinator_addresses[2];
        size_t n_coordinator_addresses;
        uint8_t invitation_id[PAIRING_ID_LEN];
        uint8_t pending_private_sealed[SEALED_KEY_SIZE];   /* the own key while joining */
        bool has_pending_private;

        /* Coordinator, runtime. */
        int listen_fd;
        unsigned listen_ifindex;     /* SO_BINDTODEVICE keeps the index: a new interface needs a new socket */
        sd_event_source *listen_source;
        sd_event_source *accept_pause;      /* listening again after accept ran out of descriptors */
        MeshConn *conns;
        MeshRelay *relays;              /* TCP <-> socketpair for sd-bus, both roles */
        sd_event_source *check_timer;
        sd_event_source *broadcast_timer;  /* a member-triggered list, paced */
        uint64_t last_broadcast;        /* CLOCK_MONOTONIC */
        sd_event_source *hello_read_timer;  /* a device read for Hellos, paced */
        uint64_t last_hello_read;       /* CLOCK_MONOTONIC µs */
        sd_event_source *exit_source;   /* closes the channel's connections first at exit */

        /* Member, runtime. */
        sd_bus *control;                /* connection to the coordinator */
        sd_bus_slot *control_slots[8];  /* its two matches and the calls in flight */
        bool connected;                 /* Register or Hello answered on it */
        sd_event_source *heartbeat_timer;
        sd_event_source *retry_timer;
        sd_event_source *connect_timer; /* a connection that gets no answer is given up */
        sd_event_source *kick_timer;    /* direct peers without a handshake yet */
        sd_bus_message *join_call;      /* JoinMesh waiting for the registration, or Leave */
        bool leaving;                   /* join_call is a Leave waiting for the coordinator */
        sd_event_source *join_timeout;
        uint64_t connected_since;       /* CLOCK_MONOTONIC µs */
} Mesh;

const char *mesh_role_to_string(MeshRole r);
int mesh_role_from_string(const char *s);

int mesh_new(Network *n, MeshRole role, Mesh **ret);
Mesh *mesh_free(Mesh *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Mesh *, mesh_free)
MeshPeer *mesh_peer_new(Mesh *m, uint64_t peer_id);
MeshPeer *mesh_peer_get(Mesh *m, uint64_t peer_id);
void mesh_peer_drop(Mesh *m, uint64_t peer_id);
MeshPeer *mesh_peer_free(MeshPeer *mp);

/* Hooks for the network code: the endpoint and keepalive of a member-side peer, and the
 * coordinator's heartbeat-based Online. */
int mesh_peer_to_wg_peer(Peer *p, WgPeer *wp);
void mesh_peer_online(Peer *p, bool *online);
/* A coordinator's member enabled or disabled: every member hears it at once. */
void mesh_peer_enabled_changed(Peer *p);
/* Masquerade for the mesh (an exit node)? */
bool mesh_network_masquerades(const Network *n);

/* At the start and on every tick: give mesh networks their state, start the coordinator's
 * listener and the members' connections. */
void manager_mesh_tick(Manager *m);

/* Manager.JoinMesh (mesh-bus.c). */
int method_join_mesh(sd_bus_message *m, void *userdata, sd_bus_error *error);
int mesh_bus_register(Manager *m);
extern const sd_bus_vtable mesh_vtable[];
int mesh_emit_changed(Mesh *mesh, const char *property, ...) _sentinel_;

/* mesh.c, used by mesh-bus.c. */
Mesh *network_mesh(Network *n);
int mesh_create_invitation(Mesh *mesh, const char *name, uint32_t lifetime, const char *endpoint, char **ret,
                           Peer **ret_peer, sd_bus_error *error);
int mesh_remove_member(Mesh *mesh, Peer *p, sd_bus_error *error);
int mesh_join(Manager *m, sd_bus_message *call, const Pairing *inv, const char *name, const char *ifname,
              uint16_t listen_port, uint32_t timeout, sd_bus_error *error);
int mesh_set_exit_node(Mesh *mesh, bool offer, sd_bus_error *error);
int mesh_use_exit_node(Mesh *mesh, const char *name, sd_bus_error *error);
int mesh_leave(Mesh *mesh, sd_bus_message *call, sd_bus_error *error);
int mesh_update(Mesh *mesh, uint32_t heartbeat, uint32_t offline_after, sd_bus_error *error);
const char *mesh_state(Mesh *mesh);
/* A member's chosen exit node ("" none). */
const char *mesh_exit_via(const Mesh *mesh);
/* Broadcast the member list to every connected member (coordinator), now. */
void mesh_broadcast(Mesh *mesh);
/* The same for what members cause (endpoints, exit flags, coming online): at most one list
 * per MESH_BROADCAST_INTERVAL_USEC, the changes of the interval folded into the next. */
#define MESH_BROADCAST_INTERVAL_USEC (1000000ULL)
void mesh_broadcast_paced(Mesh *mesh);
