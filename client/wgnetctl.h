/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl's shared parts: the options, the verb table's type and the helpers that the verb
 * files (wgnetctl-network.c, -peer.c, -tunnel.c, -mesh.c, -monitor.c) use. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "bus-client.h"
#include "format.h"
#include "json.h"
#include "macro.h"
#include "output.h"
#include "input-file.h"
#include "output-file.h"
#include "qr.h"
#include "utf8.h"
#include "wgnet-error.h"

#define EXIT_USAGE 2

/* --- options ---------------------------------------------------------------------------- */

enum {
        /* Options that map to a{sv} options or to one verb; each verb lists those it takes. */
        OPT_ADDRESS = 1000,
        OPT_DNS,
        OPT_ENDPOINT,
        OPT_PORT,
        OPT_MTU,
        OPT_MODE,
        OPT_ROUTE,
        OPT_ISOLATION,
        OPT_NAT_INTERFACE,
        OPT_KEY_POLICY,
        OPT_ONLINE_THRESHOLD,
        OPT_INTERFACE,
        OPT_INACTIVE,
        OPT_KEEPALIVE,
        OPT_PSK,
        OPT_NO_PSK,
        OPT_PUBLIC_KEY,
        OPT_ROLE,
        OPT_SITE,
        OPT_EMAIL,
        OPT_NAME,
        OPT_DISABLED,
        OPT_EXPIRES,
        OPT_OUTPUT,
        OPT_FORCE,
        OPT_PNG,
        OPT_SVG,
        OPT_QR,
        OPT_NO_QR,
        OPT_LOCAL_NETWORK,
        OPT_REMOTE_NETWORK,
        OPT_REMOTE_ENDPOINT,
        OPT_TUNNEL_ADDRESS,
        OPT_PAIRING_LIFETIME,
        OPT_ROTATE_EVERY,
        OPT_ROTATION_KIND,
        OPT_REVOKE_AFTER,
        OPT_GRACE_PERIOD,
        OPT_DEFAULT_ROUTE,
        OPT_PEER_ROUTES,
        _OPT_VERB_MAX,
        /* Global options. */
        OPT_JSON,
        OPT_NO_LEGEND,
        OPT_NO_PAGER,
        OPT_NO_ASK_PASSWORD,
        OPT_SHOW_KEYS,
        OPT_VERSION,
};

#define BIT(o) (UINT64_C(1) << ((o) - OPT_ADDRESS))

typedef struct WgnetctlArgs {
        uint64_t given;                 /* BIT(OPT_…) of the verb options on the command line */
        bool ask_password;
        bool quiet;
        char **addresses, **dns, **routes, **sites;
        char **local_networks, **remote_networks, **tunnel_addresses;
        const char *remote_endpoint;
        uint32_t pairing_lifetime;
        const char *endpoint, *mode, *nat_interface, *key_policy, *interface, *public_key, *role, *email,
                *name, *output, *png, *svg, *rotation_kind;
        uint16_t port, keepalive;
        uint32_t mtu, online_threshold;
        bool isolation, psk, default_route, peer_routes;
        uint64_t expires, rotate_every, revoke_after, grace_period;
        char *input;                    /* the input file or secret, read before connecting (wiped) */
} WgnetctlArgs;
extern WgnetctlArgs arg;

#define GIVEN(o) (arg.given & BIT(o))

typedef struct Verb {
        const char *group;              /* "network", "peer", "tunnel" or NULL */
        const char *name;
        unsigned min_args, max_args;    /* after the verb */
        int (*fn)(sd_bus *bus, int argc, char **argv);
        bool auth;                      /* calls a polkit-checked method */
        uint64_t options;               /* BIT(OPT_…) accepted */
        const char *args;               /* for the usage text */
        const char *help;
        /* Usage checks that need no bus (exit 2 before connecting); NULL if none. */
        int (*check)(int argc, char **argv);
} Verb;

#define POLICY_SETTINGS                                                                           \
        (BIT(OPT_ROTATE_EVERY) | BIT(OPT_ROTATION_KIND) | BIT(OPT_REVOKE_AFTER) | BIT(OPT_GRACE_PERIOD))
#define NET_SETTINGS                                                                              \
        (BIT(OPT_ADDRESS) | BIT(OPT_DNS) | BIT(OPT_ENDPOINT) | BIT(OPT_PORT) | BIT(OPT_MTU) |     \
         BIT(OPT_MODE) | BIT(OPT_ROUTE) | BIT(OPT_ISOLATION) | BIT(OPT_NAT_INTERFACE) |           \
         BIT(OPT_ONLINE_THRESHOLD) | BIT(OPT_DEFAULT_ROUTE) | BIT(OPT_PEER_ROUTES) | POLICY_SETTINGS)
#define PEER_SETTINGS                                                                             \
        (BIT(OPT_ADDRESS) | BIT(OPT_KEEPALIVE) | BIT(OPT_ROLE) | BIT(OPT_SITE) | BIT(OPT_EMAIL) | \
         BIT(OPT_EXPIRES) | BIT(OPT_REMOTE_ENDPOINT) | POLICY_SETTINGS)

#define WGNET_TUNNEL_INTERFACE "org.wgnet1.Tunnel"
#define TUNNEL_SETTINGS                                                                                  \
        (BIT(OPT_PORT) | BIT(OPT_ENDPOINT) | BIT(OPT_LOCAL_NETWORK) | BIT(OPT_REMOTE_NETWORK) |          \
         BIT(OPT_REMOTE_ENDPOINT) | BIT(OPT_PUBLIC_KEY) | BIT(OPT_TUNNEL_ADDRESS) | BIT(OPT_KEEPALIVE) | \
         BIT(OPT_PAIRING_LIFETIME) | BIT(OPT_ONLINE_THRESHOLD))
#define TUNNEL_IMPORT_SETTINGS                                                                           \
        (BIT(OPT_NAME) | BIT(OPT_INTERFACE) | BIT(OPT_PORT) | BIT(OPT_ENDPOINT) | BIT(OPT_LOCAL_NETWORK) | \
         BIT(OPT_KEEPALIVE) | BIT(OPT_PAIRING_LIFETIME) | BIT(OPT_ONLINE_THRESHOLD) | BIT(OPT_INACTIVE))

/* wgnetctl.c */
const char *option_name(int opt);
int usage_error(const char *fmt, ...) _printf_(1, 2);
int fail(const char *fmt, ...) _printf_(1, 2);
int oom(void);
int bad_value(int opt, const char *value, const char *expected);
int append_failed(int r);
int check_utf8_option(int opt, const char *value);
int check_utf8_argument(const char *full, const char *word, const char *value);
int check_input_file(int argc, char **argv);
int check_input_secret(int argc, char **argv);
int load(sd_bus *bus, Objects *o);
int find_network(Objects *o, const char *name, NetworkInfo **ret);
int find_peer(Objects *o, int argc, char **argv, NetworkInfo **ret_net, PeerInfo **ret_peer);
int append_strv_option(sd_bus_message *m, const char *key, char **l);
int append_policy_options(sd_bus_message *m);
int append_network_options(sd_bus_message *m, bool creating);
int append_peer_options(sd_bus_message *m, bool adding);
int call(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply, const char *context_fmt, ...) _printf_(4, 5);
int new_call(sd_bus *bus, sd_bus_message **ret, const char *path, const char *interface, const char *member);
/* load(), find_peer() or find_network(), then new_call() of member on what was found. */
int new_peer_call(sd_bus *bus, Objects *o, int argc, char **argv, NetworkInfo **ret_net, PeerInfo **ret_peer,
                  sd_bus_message **ret, const char *member);
int new_network_call(sd_bus *bus, Objects *o, const char *name, NetworkInfo **ret_net, sd_bus_message **ret,
                     const char *member);
/* The output file (-o, --png, --svg): output_prepare() before connecting, output_write()
 * with the reply (or stdout without a file), output_done() at exit. */
const char *output_path(void);
int output_prepare(void);
bool output_is_file(void);
int output_write(const void *data, size_t size);
void output_done(void);
/* A secret given as an argument, or on stdin when it is "-" (pairing strings, invitations). */
int read_secret_arg(const char *a, char **ret);
/* text into the output file (0600, saying so on stderr) or to stdout; what_fmt names it. */
int write_output(const char *text, const char *what_fmt, ...) _printf_(2, 3);
void wipe_free(char *s);
void wipe_freep(char **s);
int config_qr_utf8(const char *config, const char *what, char **ret);
Json *network_json(const NetworkInfo *n);
Json *peer_json(const PeerInfo *p, const NetworkInfo *n);
int peer_table(Objects *o, const NetworkInfo *only, bool with_network, Table **ret);
int object_simple(sd_bus *bus, int argc, char **argv, bool tunnel, const char *member, const char *what,
                  const char *done);

/* wgnetctl-network.c: helpers of the peer, tunnel and mesh verbs too */
int read_file_text(const char *path, char **ret);
/* GetStats merged into the peers of n (only: into that one peer). An error is a warning
 * (the cached values stay); 1 when the network is gone (n->gone set), else 0. */
int refresh_stats(sd_bus *bus, Objects *o, NetworkInfo *n, PeerInfo *only);
int format_rotation(uint64_t interval, const char *kind, uint64_t grace, char **ret);
int print_json_array(Json *array);
int check_settings_given(const char *verb, uint64_t mask);

/* the usage checks of the verbs, run before connecting */
int check_network_create(int argc, char **argv);
int check_network_set(int argc, char **argv);
int check_peer_args(int argc, char **argv);
int check_peer_add(int argc, char **argv);
int check_peer_set(int argc, char **argv);
int check_peer_qr(int argc, char **argv);
int check_tunnel_set(int argc, char **argv);
int check_mesh_create(int argc, char **argv);
int check_mesh_invite(int argc, char **argv);
int check_mesh_exit_node(int argc, char **argv);

/* the verbs */
int verb_network_list(sd_bus *bus, int argc, char **argv);
int verb_network_show(sd_bus *bus, int argc, char **argv);
int verb_status(sd_bus *bus, int argc, char **argv);
int verb_network_create(sd_bus *bus, int argc, char **argv);
int verb_network_delete(sd_bus *bus, int argc, char **argv);
int verb_network_up(sd_bus *bus, int argc, char **argv);
int verb_network_down(sd_bus *bus, int argc, char **argv);
int verb_network_set(sd_bus *bus, int argc, char **argv);
int verb_network_import(sd_bus *bus, int argc, char **argv);
int verb_network_export(sd_bus *bus, int argc, char **argv);
int verb_network_next_ip(sd_bus *bus, int argc, char **argv);
int verb_peer_list(sd_bus *bus, int argc, char **argv);
int verb_peer_show(sd_bus *bus, int argc, char **argv);
int verb_peer_add(sd_bus *bus, int argc, char **argv);
int verb_peer_rotate(sd_bus *bus, int argc, char **argv);
int verb_peer_remove(sd_bus *bus, int argc, char **argv);
int verb_peer_enable(sd_bus *bus, int argc, char **argv);
int verb_peer_disable(sd_bus *bus, int argc, char **argv);
int verb_peer_set(sd_bus *bus, int argc, char **argv);
int verb_peer_config(sd_bus *bus, int argc, char **argv);
int verb_peer_qr(sd_bus *bus, int argc, char **argv);
int verb_monitor(sd_bus *bus, int argc, char **argv);
int verb_tunnel_list(sd_bus *bus, int argc, char **argv);
int verb_tunnel_show(sd_bus *bus, int argc, char **argv);
int verb_tunnel_create(sd_bus *bus, int argc, char **argv);
int verb_tunnel_pairing(sd_bus *bus, int argc, char **argv);
int verb_tunnel_import(sd_bus *bus, int argc, char **argv);
int verb_tunnel_delete(sd_bus *bus, int argc, char **argv);
int verb_tunnel_up(sd_bus *bus, int argc, char **argv);
int verb_tunnel_down(sd_bus *bus, int argc, char **argv);
int verb_tunnel_set(sd_bus *bus, int argc, char **argv);
int verb_mesh_create(sd_bus *bus, int argc, char **argv);
int verb_mesh_invite(sd_bus *bus, int argc, char **argv);
int verb_mesh_join(sd_bus *bus, int argc, char **argv);
int verb_mesh_leave(sd_bus *bus, int argc, char **argv);
int verb_mesh_members(sd_bus *bus, int argc, char **argv);
int verb_mesh_exit_node(sd_bus *bus, int argc, char **argv);
