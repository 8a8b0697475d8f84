/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl: the command-line client of wgnetd, on the public D-Bus API (org.wgnet1). */
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
#include "qr.h"
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

static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { "json", optional_argument, NULL, OPT_JSON },
        { "no-legend", no_argument, NULL, OPT_NO_LEGEND },
        { "no-pager", no_argument, NULL, OPT_NO_PAGER },
        { "no-ask-password", no_argument, NULL, OPT_NO_ASK_PASSWORD },
        { "show-keys", no_argument, NULL, OPT_SHOW_KEYS },
        { "quiet", no_argument, NULL, 'q' },
        { "address", required_argument, NULL, OPT_ADDRESS },
        { "dns", required_argument, NULL, OPT_DNS },
        { "endpoint", required_argument, NULL, OPT_ENDPOINT },
        { "port", required_argument, NULL, OPT_PORT },
        { "listen-port", required_argument, NULL, OPT_PORT },
        { "mtu", required_argument, NULL, OPT_MTU },
        { "mode", required_argument, NULL, OPT_MODE },
        { "route", required_argument, NULL, OPT_ROUTE },
        { "extra-route", required_argument, NULL, OPT_ROUTE },
        { "isolation", required_argument, NULL, OPT_ISOLATION },
        { "nat-interface", required_argument, NULL, OPT_NAT_INTERFACE },
        { "key-policy", required_argument, NULL, OPT_KEY_POLICY },
        { "online-threshold", required_argument, NULL, OPT_ONLINE_THRESHOLD },
        { "interface", required_argument, NULL, OPT_INTERFACE },
        { "inactive", no_argument, NULL, OPT_INACTIVE },
        { "keepalive", required_argument, NULL, OPT_KEEPALIVE },
        { "psk", no_argument, NULL, OPT_PSK },
        { "no-psk", no_argument, NULL, OPT_NO_PSK },
        { "public-key", required_argument, NULL, OPT_PUBLIC_KEY },
        { "role", required_argument, NULL, OPT_ROLE },
        { "site", required_argument, NULL, OPT_SITE },
        { "allowed-ip", required_argument, NULL, OPT_SITE },
        { "email", required_argument, NULL, OPT_EMAIL },
        { "name", required_argument, NULL, OPT_NAME },
        { "disabled", no_argument, NULL, OPT_DISABLED },
        { "expires", required_argument, NULL, OPT_EXPIRES },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "force", no_argument, NULL, OPT_FORCE },
        { "png", required_argument, NULL, OPT_PNG },
        { "svg", required_argument, NULL, OPT_SVG },
        { "qr", no_argument, NULL, OPT_QR },
        { "no-qr", no_argument, NULL, OPT_NO_QR },
        { "local-network", required_argument, NULL, OPT_LOCAL_NETWORK },
        { "remote-network", required_argument, NULL, OPT_REMOTE_NETWORK },
        { "remote-endpoint", required_argument, NULL, OPT_REMOTE_ENDPOINT },
        { "tunnel-address", required_argument, NULL, OPT_TUNNEL_ADDRESS },
        { "pairing-lifetime", required_argument, NULL, OPT_PAIRING_LIFETIME },
        { "rotate-every", required_argument, NULL, OPT_ROTATE_EVERY },
        { "rotation-kind", required_argument, NULL, OPT_ROTATION_KIND },
        { "revoke-after", required_argument, NULL, OPT_REVOKE_AFTER },
        { "grace-period", required_argument, NULL, OPT_GRACE_PERIOD },
        { 0 },
};

static const char *option_name(int opt) {
        for (const struct option *o = long_options; o->name; o++)
                if (o->val == opt)
                        return o->name;
        return "?";
}

static struct {
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
        bool isolation, psk;
        uint64_t expires, rotate_every, revoke_after, grace_period;
} arg = { .ask_password = true };

static int strv_push(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[n] = strdup(s);
        nl[n + 1] = NULL;
        return nl[n] ? 0 : -ENOMEM;
}

/* A list option: repeatable; values may also be comma-separated; an empty value clears
 * the list (--dns= sends DNS = []). */
static int list_option(char ***l, const char *value) {
        if (!*l) {
                *l = calloc(1, sizeof(char *));
                if (!*l)
                        return -ENOMEM;
        }
        _cleanup_(freep) char *copy = strdup(value);
        char *save = NULL;
        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
                int r = strv_push(l, t);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...) {
        va_list ap;
        fputs("wgnetctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\n", stderr);
        return -EXIT_USAGE;
}

static int fail(const char *fmt, ...) _printf_(1, 2);
static int fail(const char *fmt, ...) {
        va_list ap;
        fputs("wgnetctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\n", stderr);
        return 1;
}

static int oom(void) {
        return fail("Out of memory");
}

static int bad_value(int opt, const char *value, const char *expected) {
        return usage_error("Invalid value '%s' for --%s: expected %s", value, option_name(opt), expected);
}

/* --- verbs ------------------------------------------------------------------------------ */

typedef struct Verb {
        const char *group;              /* "network", "peer", "tunnel" or NULL */
        const char *name;
        unsigned min_args, max_args;    /* after the verb */
        int (*fn)(sd_bus *bus, int argc, char **argv);
        bool auth;                      /* calls a polkit-checked method */
        uint64_t options;               /* BIT(OPT_…) accepted */
        const char *args;               /* for the usage text */
        const char *help;
} Verb;

#define POLICY_SETTINGS                                                                           \
        (BIT(OPT_ROTATE_EVERY) | BIT(OPT_ROTATION_KIND) | BIT(OPT_REVOKE_AFTER) | BIT(OPT_GRACE_PERIOD))
#define NET_SETTINGS                                                                              \
        (BIT(OPT_ADDRESS) | BIT(OPT_DNS) | BIT(OPT_ENDPOINT) | BIT(OPT_PORT) | BIT(OPT_MTU) |     \
         BIT(OPT_MODE) | BIT(OPT_ROUTE) | BIT(OPT_ISOLATION) | BIT(OPT_NAT_INTERFACE) |           \
         BIT(OPT_ONLINE_THRESHOLD) | POLICY_SETTINGS)
#define PEER_SETTINGS                                                                             \
        (BIT(OPT_ADDRESS) | BIT(OPT_KEEPALIVE) | BIT(OPT_ROLE) | BIT(OPT_SITE) | BIT(OPT_EMAIL) | \
         BIT(OPT_EXPIRES) | BIT(OPT_REMOTE_ENDPOINT) | POLICY_SETTINGS)

/* Load the objects or say why not. */
static int load(sd_bus *bus, Objects *o) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = objects_load(bus, o, &error);
        if (r < 0)
                return report_bus_error(&error, r, NULL, NULL, "Cannot list the networks and peers of wgnetd");
        return 0;
}

static int find_network(Objects *o, const char *name, NetworkInfo **ret) {
        NetworkInfo *n = objects_find_network(o, name);
        if (!n)
                return fail("No network '%s' (give its name, interface or object path; see 'wgnetctl network list')", name);
        *ret = n;
        return 0;
}

/* Peer arguments: NETWORK PEER, or one peer object path. */
static int find_peer(Objects *o, int argc, char **argv, NetworkInfo **ret_net, PeerInfo **ret_peer) {
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        int r;

        if (argc == 1) {
                if (!object_path_under(argv[0], WGNET_PEER_PREFIX))
                        return usage_error("Missing peer: give NETWORK PEER, or the peer's object path ('%s' is not one)",
                                           argv[0]);
                p = objects_find_peer(o, NULL, argv[0]);
                if (!p)
                        return fail("No peer '%s'", argv[0]);
        } else {
                r = find_network(o, argv[0], &n);
                if (r != 0)
                        return r;
                p = objects_find_peer(o, n, argv[1]);
                if (!p)
                        return fail("No peer '%s' in network '%s' (see 'wgnetctl peer list %s')", argv[1], n->name,
                                    n->name);
        }
        if (ret_net)
                *ret_net = n ? n : objects_network_of(o, p);
        *ret_peer = p;
        return 0;
}

/* --- a{sv} options -------------------------------------------------------------------- */

static int append_strv_option(sd_bus_message *m, const char *key, char **l) {
        int r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

#define GIVEN(o) (arg.given & BIT(o))

/* Rotation and revocation policy: the same option names for networks and peers. */
static int append_policy_options(sd_bus_message *m) {
        int r = 0;
        if (r >= 0 && GIVEN(OPT_ROTATE_EVERY))
                r = sd_bus_message_append(m, "{sv}", "RotationInterval", "t", arg.rotate_every);
        if (r >= 0 && GIVEN(OPT_ROTATION_KIND))
                r = sd_bus_message_append(m, "{sv}", "RotationKind", "s", arg.rotation_kind);
        if (r >= 0 && GIVEN(OPT_REVOKE_AFTER))
                r = sd_bus_message_append(m, "{sv}", "RevokeAfterInactive", "t", arg.revoke_after);
        if (r >= 0 && GIVEN(OPT_GRACE_PERIOD))
                r = sd_bus_message_append(m, "{sv}", "GracePeriod", "t", arg.grace_period);
        return r;
}

static int append_network_options(sd_bus_message *m, bool creating) {
        int r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = append_policy_options(m);
        if (r >= 0 && GIVEN(OPT_ADDRESS))
                r = append_strv_option(m, "Addresses", arg.addresses);
        if (r >= 0 && GIVEN(OPT_DNS))
                r = append_strv_option(m, "DNS", arg.dns);
        if (r >= 0 && GIVEN(OPT_ROUTE))
                r = append_strv_option(m, "ExtraRoutes", arg.routes);
        if (r >= 0 && GIVEN(OPT_ENDPOINT))
                r = sd_bus_message_append(m, "{sv}", "Endpoint", "s", arg.endpoint);
        if (r >= 0 && GIVEN(OPT_PORT))
                r = sd_bus_message_append(m, "{sv}", "ListenPort", "q", arg.port);
        if (r >= 0 && GIVEN(OPT_MTU))
                r = sd_bus_message_append(m, "{sv}", "MTU", "u", arg.mtu);
        if (r >= 0 && GIVEN(OPT_MODE))
                r = sd_bus_message_append(m, "{sv}", "Mode", "s", arg.mode);
        if (r >= 0 && GIVEN(OPT_ISOLATION))
                r = sd_bus_message_append(m, "{sv}", "PeerIsolation", "b", (int) arg.isolation);
        if (r >= 0 && GIVEN(OPT_NAT_INTERFACE))
                r = sd_bus_message_append(m, "{sv}", "NatInterface", "s", arg.nat_interface);
        if (r >= 0 && GIVEN(OPT_ONLINE_THRESHOLD))
                r = sd_bus_message_append(m, "{sv}", "OnlineThreshold", "u", arg.online_threshold);
        if (r >= 0 && creating && GIVEN(OPT_KEY_POLICY))
                r = sd_bus_message_append(m, "{sv}", "KeyPolicy", "s", arg.key_policy);
        if (r >= 0 && creating && GIVEN(OPT_INTERFACE))
                r = sd_bus_message_append(m, "{sv}", "Interface", "s", arg.interface);
        if (r >= 0 && creating && GIVEN(OPT_INACTIVE))
                r = sd_bus_message_append(m, "{sv}", "Activate", "b", 0);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_peer_options(sd_bus_message *m, bool adding) {
        int r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = append_policy_options(m);
        if (r >= 0 && GIVEN(OPT_ADDRESS))
                r = append_strv_option(m, "Addresses", arg.addresses);
        if (r >= 0 && GIVEN(OPT_SITE))
                r = append_strv_option(m, "SiteNetworks", arg.sites);
        /* Site networks need the site-gateway role: imply it unless --role says otherwise. */
        if (r >= 0 && (GIVEN(OPT_ROLE) || (GIVEN(OPT_SITE) && strv_length(arg.sites) > 0)))
                r = sd_bus_message_append(m, "{sv}", "Role", "s", GIVEN(OPT_ROLE) ? arg.role : "site-gateway");
        if (r >= 0 && GIVEN(OPT_KEEPALIVE))
                r = sd_bus_message_append(m, "{sv}", "PersistentKeepalive", "q", arg.keepalive);
        if (r >= 0 && GIVEN(OPT_EMAIL))
                r = sd_bus_message_append(m, "{sv}", "Email", "s", arg.email);
        if (r >= 0 && GIVEN(OPT_EXPIRES))
                r = sd_bus_message_append(m, "{sv}", "ExpiresAt", "t", arg.expires);
        if (r >= 0 && GIVEN(OPT_REMOTE_ENDPOINT))
                r = sd_bus_message_append(m, "{sv}", "RemoteEndpoint", "s", arg.remote_endpoint);
        if (r >= 0 && !adding && GIVEN(OPT_NAME))
                r = sd_bus_message_append(m, "{sv}", "Name", "s", arg.name);
        if (r >= 0 && adding && (GIVEN(OPT_PSK) || GIVEN(OPT_NO_PSK)))
                r = sd_bus_message_append(m, "{sv}", "PresharedKey", "b", (int) arg.psk);
        if (r >= 0 && adding && GIVEN(OPT_PUBLIC_KEY))
                r = sd_bus_message_append(m, "{sv}", "PublicKey", "s", arg.public_key);
        if (r >= 0 && adding && GIVEN(OPT_DISABLED))
                r = sd_bus_message_append(m, "{sv}", "Enabled", "b", 0);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* Send a method call built by the caller; report errors with the context. */
static int call(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply, const char *context_fmt, ...)
        _printf_(4, 5);
static int call(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply, const char *context_fmt, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = sd_bus_call(bus, m, UINT64_C(300) * 1000000, &error, ret_reply);
        if (r < 0) {
                char ctx[512];
                va_list ap;
                va_start(ap, context_fmt);
                vsnprintf(ctx, sizeof(ctx), context_fmt, ap);
                va_end(ap);
                return report_bus_error(&error, r, sd_bus_message_get_interface(m), sd_bus_message_get_member(m),
                                        "%s", ctx);
        }
        return 0;
}

static int new_call(sd_bus *bus, sd_bus_message **ret, const char *path, const char *interface, const char *member) {
        int r = sd_bus_message_new_method_call(bus, ret, WGNET_BUS_NAME, path, interface, member);
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(*ret, arg.ask_password && isatty(STDIN_FILENO));
        return r < 0 ? oom() : 0;
}

/* --- files and secrets ---------------------------------------------------------------- */

/* Write a secret to path (0600, O_EXCL unless --force), or to stdout for "-". */
static int write_secret_file(const char *path, const void *data, size_t size) {
        _cleanup_(closep) int fd = -EBADF;

        if (streq(path, "-")) {
                fwrite(data, 1, size, stdout);
                return fflush(stdout) == 0 ? 0 : fail("Cannot write to stdout: %s", strerror(errno));
        }
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (GIVEN(OPT_FORCE) ? O_TRUNC : O_EXCL), 0600);
        if (fd < 0) {
                if (errno == EEXIST)
                        return fail("Cannot write '%s': the file exists (use --force to overwrite it)", path);
                return fail("Cannot write '%s': %s", path, strerror(errno));
        }
        if (fchmod(fd, 0600) < 0)
                return fail("Cannot make '%s' private (mode 0600): %s", path, strerror(errno));
        for (size_t done = 0; done < size;) {
                ssize_t k = write(fd, (const uint8_t *) data + done, size - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return fail("Cannot write '%s': %s", path, strerror(errno));
                }
                done += (size_t) k;
        }
        if (close(TAKE_FD(fd)) < 0)
                return fail("Cannot write '%s': %s", path, strerror(errno));
        return 0;
}

static void wipe_free(char *s) {
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

static void wipe_freep(char **s) {
        wipe_free(*s);
}

/* The terminal QR code of a config, rendered here (lib/qr.c): the same text the daemon
 * would encode, without a second round trip or a second polkit check. */
static int config_qr_utf8(const char *config, const char *what, char **ret) {
        int r = qr_render_utf8(config, QR_EC_M, ret);
        if (r == -EMSGSIZE)
                return fail("Cannot draw the QR code of peer %s: the config is too long for a QR code", what);
        if (r < 0)
                return fail("Cannot draw the QR code of peer %s: %s", what, strerror(-r));
        return 0;
}

/* --- JSON and table rows ---------------------------------------------------------------- */

static Json *network_json(const NetworkInfo *n) {
        Json *j = json_new_object();
        if (!j)
                return NULL;
        int r = 0;
        r = r < 0 ? r : json_object_add(j, "Path", json_new_string(n->path));
        r = r < 0 ? r : json_object_add(j, "Id", json_new_unsigned(n->id));
        r = r < 0 ? r : json_object_add(j, "Name", json_new_string(n->name));
        r = r < 0 ? r : json_object_add(j, "Interface", json_new_string(n->interface));
        r = r < 0 ? r : json_object_add(j, "Active", json_new_bool(n->active));
        r = r < 0 ? r : json_object_add(j, "Addresses", json_new_strv(n->addresses));
        r = r < 0 ? r : json_object_add(j, "ListenPort", json_new_unsigned(n->listen_port));
        r = r < 0 ? r : json_object_add(j, "PublicKey", json_new_string(n->public_key));
        r = r < 0 ? r : json_object_add(j, "Endpoint", json_new_string(n->endpoint));
        r = r < 0 ? r : json_object_add(j, "DNS", json_new_strv(n->dns));
        r = r < 0 ? r : json_object_add(j, "MTU", json_new_unsigned(n->mtu));
        r = r < 0 ? r : json_object_add(j, "Mode", json_new_string(n->mode));
        r = r < 0 ? r : json_object_add(j, "ExtraRoutes", json_new_strv(n->extra_routes));
        r = r < 0 ? r : json_object_add(j, "PeerIsolation", json_new_bool(n->peer_isolation));
        r = r < 0 ? r : json_object_add(j, "NatInterface", json_new_string(n->nat_interface));
        r = r < 0 ? r : json_object_add(j, "KeyPolicy", json_new_string(n->key_policy));
        r = r < 0 ? r : json_object_add(j, "OnlineThreshold", json_new_unsigned(n->online_threshold));
        r = r < 0 ? r : json_object_add(j, "RotationInterval", json_new_unsigned(n->rotation_interval));
        r = r < 0 ? r : json_object_add(j, "RotationKind", json_new_string(n->rotation_kind));
        r = r < 0 ? r : json_object_add(j, "RevokeAfterInactive", json_new_unsigned(n->revoke_after_inactive));
        r = r < 0 ? r : json_object_add(j, "GracePeriod", json_new_unsigned(n->grace_period));
        r = r < 0 ? r : json_object_add(j, "PeerCount", json_new_unsigned(n->peer_count));
        r = r < 0 ? r : json_object_add(j, "OnlinePeerCount", json_new_unsigned(n->online_peer_count));
        return r < 0 ? json_free(j) : j;
}

static Json *peer_json(const PeerInfo *p, const NetworkInfo *n) {
        Json *j = json_new_object();
        if (!j)
                return NULL;
        int r = 0;
        r = r < 0 ? r : json_object_add(j, "Path", json_new_string(p->path));
        r = r < 0 ? r : json_object_add(j, "Id", json_new_unsigned(p->id));
        r = r < 0 ? r : json_object_add(j, "Network", json_new_string(p->network));
        r = r < 0 ? r : json_object_add(j, "NetworkName", json_new_string(n ? n->name : NULL));
        r = r < 0 ? r : json_object_add(j, "Name", json_new_string(p->name));
        r = r < 0 ? r : json_object_add(j, "Email", json_new_string(p->email));
        r = r < 0 ? r : json_object_add(j, "RemoteEndpoint", json_new_string(p->remote_endpoint));
        r = r < 0 ? r : json_object_add(j, "PublicKey", json_new_string(p->public_key));
        r = r < 0 ? r : json_object_add(j, "Addresses", json_new_strv(p->addresses));
        r = r < 0 ? r : json_object_add(j, "AllowedIPs", json_new_strv(p->allowed_ips));
        r = r < 0 ? r : json_object_add(j, "Role", json_new_string(p->role));
        r = r < 0 ? r : json_object_add(j, "SiteNetworks", json_new_strv(p->site_networks));
        r = r < 0 ? r : json_object_add(j, "PersistentKeepalive", json_new_unsigned(p->keepalive));
        r = r < 0 ? r : json_object_add(j, "HasPresharedKey", json_new_bool(p->has_psk));
        r = r < 0 ? r : json_object_add(j, "PrivateKeyStored", json_new_bool(p->private_key_stored));
        r = r < 0 ? r : json_object_add(j, "Enabled", json_new_bool(p->enabled));
        r = r < 0 ? r : json_object_add(j, "Online", json_new_bool(p->online));
        r = r < 0 ? r : json_object_add(j, "LastHandshake", json_new_unsigned(p->last_handshake));
        r = r < 0 ? r : json_object_add(j, "Endpoint", json_new_string(p->endpoint));
        r = r < 0 ? r : json_object_add(j, "RxBytes", json_new_unsigned(p->rx_bytes));
        r = r < 0 ? r : json_object_add(j, "TxBytes", json_new_unsigned(p->tx_bytes));
        r = r < 0 ? r : json_object_add(j, "CreatedAt", json_new_unsigned(p->created_at));
        r = r < 0 ? r : json_object_add(j, "UpdatedAt", json_new_unsigned(p->updated_at));
        r = r < 0 ? r : json_object_add(j, "ExpiresAt", json_new_unsigned(p->expires_at));
        r = r < 0 ? r : json_object_add(j, "RotationPending", json_new_bool(p->rotation_pending));
        r = r < 0 ? r : json_object_add(j, "RotationDeadline", json_new_unsigned(p->rotation_deadline));
        r = r < 0 ? r : json_object_add(j, "PendingPublicKey", json_new_string(p->pending_public_key));
        r = r < 0 ? r : json_object_add(j, "LastRotation", json_new_unsigned(p->last_rotation));
        r = r < 0 ? r : json_object_add(j, "RotationInterval", json_new_unsigned(p->rotation_interval));
        r = r < 0 ? r : json_object_add(j, "RotationKind", json_new_string(p->rotation_kind));
        r = r < 0 ? r : json_object_add(j, "RevokeAfterInactive", json_new_unsigned(p->revoke_after_inactive));
        r = r < 0 ? r : json_object_add(j, "GracePeriod", json_new_unsigned(p->grace_period));
        return r < 0 ? json_free(j) : j;
}

static const Column peer_columns[] = {
        { "", 0 },
        { "NETWORK", 0 },
        { "NAME", 0 },
        { "ADDRESSES", COLUMN_WRAP },
        { "ENDPOINT", COLUMN_TRUNC },
        { "HANDSHAKE", 0 },
        { "RX", COLUMN_RIGHT },
        { "TX", COLUMN_RIGHT },
        { "STATE", 0 },
        { "PUBLIC KEY", COLUMN_KEY },
};

/* The peer table; with_network: a NETWORK column (peers of several networks). */
static int peer_table(Objects *o, const NetworkInfo *only, bool with_network, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        uint64_t now = now_realtime_usec();
        Column cols[ELEMENTSOF(peer_columns)];

        memcpy(cols, peer_columns, sizeof(cols));
        if (!with_network)
                cols[1].flags |= COLUMN_HIDDEN;
        t = table_new(cols, ELEMENTSOF(cols));
        if (!t)
                return oom();
        for (size_t i = 0; i < o->n_peers; i++) {
                PeerInfo *p = &o->peers[i];
                NetworkInfo *n = objects_network_of(o, p);
                if (only && p->network && !streq(p->network, only->path))
                        continue;
                _cleanup_(freep) char *addresses = strv_join(p->addresses, " ");
                char hs[FORMAT_RELATIVE_MAX], rx[FORMAT_BYTES_MAX], tx[FORMAT_BYTES_MAX];
                bool online = p->online && p->enabled;
                const char *cells[] = {
                        dot(online),
                        with_network && n ? n->name : "",
                        p->name,
                        addresses,
                        p->endpoint,
                        p->last_handshake ? format_relative(hs, p->last_handshake, now) : "never",
                        format_bytes(rx, p->rx_bytes),
                        format_bytes(tx, p->tx_bytes),
                        !p->enabled ? "disabled" : online ? "online" : "offline",
                        p->public_key,
                };
                const char *colors[ELEMENTSOF(cells)] = {
                        [0] = online ? ANSI_GREEN : ANSI_GREY,
                        [8] = !p->enabled ? ANSI_YELLOW : online ? ANSI_GREEN : NULL,
                };
                if (!addresses)
                        return oom();
                if (table_add_row(t, cells, colors, peer_json(p, n)) < 0)
                        return oom();
        }
        *ret = TAKE_PTR(t);
        return 0;
}

/* --- verbs: networks -------------------------------------------------------------------- */

static const Column network_columns[] = {
        { "", 0 },
        { "NAME", 0 },
        { "INTERFACE", 0 },
        { "STATE", 0 },
        { "MODE", 0 },
        { "ADDRESSES", COLUMN_WRAP },
        { "PORT", COLUMN_RIGHT },
        { "PEERS", COLUMN_RIGHT },
        { "ONLINE", COLUMN_RIGHT },
        { "ENDPOINT", COLUMN_TRUNC },
        { "PUBLIC KEY", COLUMN_KEY },
};

static int network_table(Objects *o, Table **ret) {
        _cleanup_(table_freep) Table *t = table_new(network_columns, ELEMENTSOF(network_columns));
        if (!t)
                return oom();
        for (size_t i = 0; i < o->n_networks; i++) {
                NetworkInfo *n = &o->networks[i];
                _cleanup_(freep) char *addresses = strv_join(n->addresses, " ");
                char port[8], peers[16], online[16];
                snprintf(port, sizeof(port), "%u", n->listen_port);
                snprintf(peers, sizeof(peers), "%u", n->peer_count);
                snprintf(online, sizeof(online), "%u", n->online_peer_count);
                const char *cells[] = {
                        dot(n->active),
                        n->name, n->interface, n->active ? "active" : "inactive", n->mode, addresses,
                        port, peers, online, n->endpoint, n->public_key,
                };
                const char *colors[ELEMENTSOF(cells)] = {
                        [0] = n->active ? ANSI_GREEN : ANSI_GREY,
                        [3] = n->active ? ANSI_GREEN : ANSI_GREY,
                };
                if (!addresses || table_add_row(t, cells, colors, network_json(n)) < 0)
                        return oom();
        }
        *ret = TAKE_PTR(t);
        return 0;
}

static int verb_network_list(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(table_freep) Table *t = NULL;
        int r = load(bus, &o);
        if (r != 0)
                return r;
        r = network_table(&o, &t);
        if (r != 0)
                return r;
        if (table_print(t) < 0)
                return fail("Cannot print the table");
        if (!output.json && output.legend)
                printf("\n%zu network%s listed.\n", table_rows(t), table_rows(t) == 1 ? "" : "s");
        return 0;
}

static int refresh_stats(sd_bus *bus, Objects *o, const NetworkInfo *n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        if (!n->active)
                return 0;
        int r = objects_refresh_stats(bus, o, n, &error);
        if (r < 0)
                return report_bus_error(&error, r, WGNET_NETWORK_INTERFACE, "GetStats",
                                        "Cannot read the statistics of network '%s'", n->name);
        return 0;
}

/* "every 30 days (keypair), grace period 1 day" or "off (grace period 1 day)". */
static int format_rotation(uint64_t interval, const char *kind, uint64_t grace, char **ret) {
        char a[FORMAT_RELATIVE_MAX], b[FORMAT_RELATIVE_MAX];
        if (interval == 0)
                return asprintf(ret, "off (grace period for manual key pair rotation %s)", format_duration(b, grace));
        return asprintf(ret, "every %s (%s), grace period %s", format_duration(a, interval),
                        isempty(kind) ? "-" : kind, format_duration(b, grace));
}

static int network_fields(const NetworkInfo *n, Fields *f) {
        _cleanup_(freep) char *addresses = strv_join(n->addresses, "\n");
        _cleanup_(freep) char *dns = strv_join(n->dns, " ");
        _cleanup_(freep) char *routes = strv_join(n->extra_routes, " ");
        char port[8], mtu[16], peers[48], threshold[24], revoke[FORMAT_RELATIVE_MAX];
        _cleanup_(freep) char *rotation = NULL;
        int r = 0;

        if (!addresses || !dns || !routes)
                return -ENOMEM;
        if (format_rotation(n->rotation_interval, n->rotation_kind, n->grace_period, &rotation) < 0)
                return -ENOMEM;
        snprintf(port, sizeof(port), "%u", n->listen_port);
        if (n->mtu)
                snprintf(mtu, sizeof(mtu), "%u", n->mtu);
        else
                snprintf(mtu, sizeof(mtu), "default");
        snprintf(peers, sizeof(peers), "%u (%u online)", n->peer_count, n->online_peer_count);
        snprintf(threshold, sizeof(threshold), "%u s", n->online_threshold);

        _cleanup_(freep) char *state = NULL;
        if (asprintf(&state, "%s %s", dot(n->active), n->active ? "active" : "inactive") < 0)
                return -ENOMEM;
        r = r < 0 ? r : fields_add(f, "Network", n->name, ANSI_BOLD);
        r = r < 0 ? r : fields_add(f, "State", state, n->active ? ANSI_GREEN : NULL);
        r = r < 0 ? r : fields_add(f, "Interface", n->interface, NULL);
        r = r < 0 ? r : fields_add(f, "Path", n->path, NULL);
        r = r < 0 ? r : fields_add(f, "Mode", n->mode, NULL);
        r = r < 0 ? r : fields_add(f, "Addresses", addresses, NULL);
        r = r < 0 ? r : fields_add(f, "Listen port", port, NULL);
        r = r < 0 ? r : fields_add(f, "Endpoint", n->endpoint, NULL);
        r = r < 0 ? r : fields_add(f, "Public key", n->public_key, NULL);
        r = r < 0 ? r : fields_add(f, "DNS", dns, NULL);
        r = r < 0 ? r : fields_add(f, "MTU", mtu, NULL);
        r = r < 0 ? r : fields_add(f, "Extra routes", routes, NULL);
        r = r < 0 ? r : fields_add(f, "Isolation", n->peer_isolation ? "yes" : "no", NULL);
        r = r < 0 ? r : fields_add(f, "NAT interface", n->nat_interface, NULL);
        r = r < 0 ? r : fields_add(f, "Key policy", n->key_policy, NULL);
        r = r < 0 ? r : fields_add(f, "Online within", threshold, NULL);
        r = r < 0 ? r : fields_add(f, "Key rotation", rotation, NULL);
        r = r < 0 ? r : fields_add(f, "Revoke inactive", format_duration(revoke, n->revoke_after_inactive), NULL);
        r = r < 0 ? r : fields_add(f, "Peers", peers, NULL);
        return r;
}

/* One network in detail with its peers (status NETWORK, network show). */
static int show_network(sd_bus *bus, Objects *o, NetworkInfo *n, bool with_peers, Json *json_array) {
        _cleanup_(fields_freep) Fields *f = fields_new();
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        r = refresh_stats(bus, o, n);
        if (r != 0)
                return r;
        r = peer_table(o, n, false, &t);
        if (r != 0)
                return r;
        if (json_array) {
                Json *j = network_json(n);
                if (!j || json_object_add(j, "Peers", table_steal_json(t)) < 0 || json_array_add(json_array, j) < 0)
                        return oom();
                return 0;
        }
        if (!f || network_fields(n, f) < 0)
                return oom();
        fields_print(f);
        if (with_peers && table_rows(t) > 0) {
                printf("\n");
                if (table_print_human(t, 0) < 0)
                        return fail("Cannot print the table");
        }
        return 0;
}

/* network show and status print an array of networks (with their peers), also for one. */
static int print_json_array(Json *array) {
        return json_print(stdout, array, output.json_format) < 0 ? fail("Cannot write the output") : 0;
}

static int verb_network_show(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(json_freep) Json *array = NULL;
        int r = load(bus, &o);
        if (r != 0)
                return r;
        if (output.json && !(array = json_new_array()))
                return oom();
        for (int i = 0; i < argc; i++) {
                NetworkInfo *n = NULL;
                r = find_network(&o, argv[i], &n);
                if (r != 0)
                        return r;
                if (i > 0 && !array)
                        printf("\n");
                r = show_network(bus, &o, n, true, array);
                if (r != 0)
                        return r;
        }
        return array ? print_json_array(array) : 0;
}

static int verb_status(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(json_freep) Json *array = NULL;
        int r;

        if (argc > 0)
                return verb_network_show(bus, argc, argv);
        r = load(bus, &o);
        if (r != 0)
                return r;
        if (output.json && !(array = json_new_array()))
                return oom();
        if (o.n_networks == 0 && !array) {
                printf("No networks. Create one with: wgnetctl network create NAME --address=10.8.0.1/24\n");
                return 0;
        }
        for (size_t i = 0; i < o.n_networks; i++) {
                NetworkInfo *n = &o.networks[i];
                _cleanup_(table_freep) Table *t = NULL;
                r = refresh_stats(bus, &o, n);
                if (r != 0)
                        return r;
                r = peer_table(&o, n, false, &t);
                if (r != 0)
                        return r;
                if (array) {
                        Json *j = network_json(n);
                        if (!j || json_object_add(j, "Peers", table_steal_json(t)) < 0 || json_array_add(array, j) < 0)
                                return oom();
                        continue;
                }
                _cleanup_(freep) char *addresses = strv_join(n->addresses, ", ");
                if (!addresses)
                        return oom();
                printf("%s%s%s %s%s%s (%s): %s, %s mode, %s, port %u, %u peer%s, %u online\n",
                       ansi(n->active ? ANSI_GREEN : ANSI_GREY), dot(n->active), ansi(ANSI_NORMAL),
                       ansi(ANSI_BOLD), n->name, ansi(ANSI_NORMAL), n->interface,
                       n->active ? "active" : "inactive", n->mode ? n->mode : "-", *addresses ? addresses : "-",
                       n->listen_port, n->peer_count, n->peer_count == 1 ? "" : "s", n->online_peer_count);
                if (table_rows(t) > 0 && table_print_human(t, 2) < 0)
                        return fail("Cannot print the table");
                if (i + 1 < o.n_networks)
                        printf("\n");
        }
        return array ? print_json_array(array) : 0;
}

static int check_settings_given(const char *verb, uint64_t mask) {
        if (!(arg.given & mask))
                return usage_error("Nothing to change: '%s' needs at least one option (see wgnetctl --help)", verb);
        return 0;
}

static int verb_network_create(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path;
        int r;

        if (!GIVEN(OPT_ADDRESS))
                return usage_error("Missing --address for network '%s': give the server's address in the subnet, e.g. --address=10.8.0.1/24",
                                   argv[0]);
        r = new_call(bus, &m, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "CreateNetwork");
        if (r != 0)
                return r;
        if (sd_bus_message_append(m, "s", argv[0]) < 0 || append_network_options(m, true) < 0)
                return oom();
        r = call(bus, m, &reply, "Cannot create network '%s'", argv[0]);
        if (r != 0)
                return r;
        if (sd_bus_message_read(reply, "o", &path) < 0)
                return fail("Cannot create network '%s': bad reply", argv[0]);
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Name", json_new_string(argv[0])) < 0 ||
                    json_object_add(j, "Path", json_new_string(path)) < 0)
                        return oom();
                json_print(stdout, j, output.json_format);
        } else if (!arg.quiet)
                printf("Created network '%s' (%s).\n", argv[0], path);
        return 0;
}

static int object_simple(sd_bus *bus, int argc, char **argv, bool tunnel, const char *member, const char *what,
                         const char *done);

static int verb_network_delete(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, false, "Delete", "delete", "deleted");
}

static int verb_network_up(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, false, "Activate", "activate", "activated");
}

static int verb_network_down(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, false, "Deactivate", "deactivate", "deactivated");
}

static int verb_network_set(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        NetworkInfo *n = NULL;
        int r;

        r = check_settings_given("network set", NET_SETTINGS);
        if (r != 0)
                return r;
        r = load(bus, &o);
        if (r == 0)
                r = find_network(&o, argv[0], &n);
        if (r != 0)
                return r;
        r = new_call(bus, &m, n->path, WGNET_NETWORK_INTERFACE, "Update");
        if (r != 0)
                return r;
        if (append_network_options(m, false) < 0)
                return oom();
        r = call(bus, m, NULL, "Cannot change network '%s'", n->name);
        if (r == 0 && !arg.quiet && !output.json)
                printf("Network '%s' updated.\n", n->name);
        return r;
}

static int read_file_text(const char *path, char **ret) {
        _cleanup_(fclosep) FILE *f = streq(path, "-") ? NULL : fopen(path, "re");
        FILE *in = streq(path, "-") ? stdin : f;
        char *buf = NULL;
        size_t size = 0, len = 0;

        if (!in)
                return fail("Cannot read '%s': %s", path, strerror(errno));
        for (;;) {
                if (len + 4096 + 1 > size) {
                        size = (len + 4096 + 1) * 2;
                        if (size > 16 * 1024 * 1024) {
                                wipe_free(buf);
                                return fail("Cannot read '%s': larger than 16 MiB", path);
                        }
                        char *nb = realloc(buf, size);
                        if (!nb) {
                                wipe_free(buf);
                                return oom();
                        }
                        buf = nb;
                }
                size_t k = fread(buf + len, 1, size - len - 1, in);
                len += k;
                if (k == 0)
                        break;
        }
        buf[len] = 0;
        if (ferror(in)) {
                wipe_free(buf);
                return fail("Cannot read '%s': %s", path, strerror(errno));
        }
        if (strlen(buf) != len) {
                wipe_free(buf);
                return fail("Cannot import '%s': the file contains a NUL byte", path);
        }
        *ret = buf;
        return 0;
}

static int verb_network_import(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(wipe_freep) char *text = NULL;
        const char *path;
        int r;

        r = read_file_text(argv[1], &text);
        if (r != 0)
                return r;
        r = new_call(bus, &m, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "ImportNetwork");
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(m);
        if (sd_bus_message_append(m, "ss", argv[0], text) < 0 || append_network_options(m, true) < 0)
                return oom();
        r = call(bus, m, &reply, "Cannot import '%s' as network '%s'", argv[1], argv[0]);
        if (r != 0)
                return r;
        if (sd_bus_message_read(reply, "o", &path) < 0)
                return fail("Cannot import network '%s': bad reply", argv[0]);
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Name", json_new_string(argv[0])) < 0 ||
                    json_object_add(j, "Path", json_new_string(path)) < 0)
                        return oom();
                json_print(stdout, j, output.json_format);
        } else if (!arg.quiet)
                printf("Imported '%s' as network '%s' (%s).\n", argv[1], argv[0], path);
        return 0;
}

static int verb_network_export(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *text;
        NetworkInfo *n = NULL;
        int r;

        r = load(bus, &o);
        if (r == 0)
                r = find_network(&o, argv[0], &n);
        if (r != 0)
                return r;
        r = new_call(bus, &m, n->path, WGNET_NETWORK_INTERFACE, "Export");
        if (r != 0)
                return r;
        r = call(bus, m, &reply, "Cannot export network '%s'", n->name);
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_read(reply, "s", &text) < 0)
                return fail("Cannot export network '%s': bad reply", n->name);
        r = write_secret_file(GIVEN(OPT_OUTPUT) ? arg.output : "-", text, strlen(text));
        if (r == 0 && GIVEN(OPT_OUTPUT) && !streq(arg.output, "-") && !arg.quiet)
                fprintf(stderr, "Wrote the config of network '%s' to %s (mode 0600).\n", n->name, arg.output);
        return r;
}

static int verb_network_next_ip(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(strv_freep) char **l = NULL;
        NetworkInfo *n = NULL;
        int r;

        r = load(bus, &o);
        if (r == 0)
                r = find_network(&o, argv[0], &n);
        if (r != 0)
                return r;
        r = new_call(bus, &m, n->path, WGNET_NETWORK_INTERFACE, "NextAddresses");
        if (r != 0)
                return r;
        r = call(bus, m, &reply, "Cannot get the next free addresses of network '%s'", n->name);
        if (r != 0)
                return r;
        if (sd_bus_message_read_strv(reply, &l) < 0)
                return fail("Cannot read the addresses of network '%s': bad reply", n->name);
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_strv(l);
                if (!j)
                        return oom();
                json_print(stdout, j, output.json_format);
                return 0;
        }
        if (!l || !l[0])
                return fail("Network '%s' has no free address left", n->name);
        for (char **a = l; *a; a++)
                printf("%s\n", *a);
        return 0;
}

/* --- verbs: peers ------------------------------------------------------------------------- */

static int verb_peer_list(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(table_freep) Table *t = NULL;
        NetworkInfo *n = NULL;
        int r;

        r = load(bus, &o);
        if (r == 0 && argc > 0)
                r = find_network(&o, argv[0], &n);
        if (r != 0)
                return r;
        for (size_t i = 0; i < o.n_networks; i++)
                if (!n || n == &o.networks[i]) {
                        r = refresh_stats(bus, &o, &o.networks[i]);
                        if (r != 0)
                                return r;
                }
        r = peer_table(&o, n, !n, &t);
        if (r != 0)
                return r;
        if (table_print(t) < 0)
                return fail("Cannot print the table");
        if (!output.json && output.legend)
                printf("\n%zu peer%s listed.\n", table_rows(t), table_rows(t) == 1 ? "" : "s");
        return 0;
}

static int verb_peer_show(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(fields_freep) Fields *f = fields_new();
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        uint64_t now = now_realtime_usec();
        int r;

        r = load(bus, &o);
        if (r == 0)
                r = find_peer(&o, argc, argv, &n, &p);
        if (r != 0)
                return r;
        if (n) {
                r = refresh_stats(bus, &o, n);
                if (r != 0)
                        return r;
        }
        if (output.json) {
                _cleanup_(json_freep) Json *j = peer_json(p, n);
                if (!j)
                        return oom();
                json_print(stdout, j, output.json_format);
                return 0;
        }
        _cleanup_(freep) char *addresses = strv_join(p->addresses, " ");
        _cleanup_(freep) char *allowed = strv_join(p->allowed_ips, " ");
        _cleanup_(freep) char *sites = strv_join(p->site_networks, " ");
        _cleanup_(freep) char *state = NULL, *network = NULL, *handshake = NULL, *transfer = NULL, *created = NULL,
                              *updated = NULL, *expires = NULL;
        char ka[FORMAT_RELATIVE_MAX], rel[FORMAT_RELATIVE_MAX], ts[FORMAT_TIMESTAMP_MAX], rx[FORMAT_BYTES_MAX],
                tx[FORMAT_BYTES_MAX];
        bool online = p->online && p->enabled;

        if (!f || !addresses || !allowed || !sites ||
            asprintf(&state, "%s %s", dot(online), !p->enabled ? "disabled" : online ? "online" : "offline") < 0 ||
            asprintf(&network, "%s (%s)", n ? n->name : "-", p->network) < 0 ||
            asprintf(&handshake, "%s%s%s%s", p->last_handshake ? format_timestamp(ts, p->last_handshake) : "never",
                     p->last_handshake ? " (" : "", p->last_handshake ? format_relative(rel, p->last_handshake, now) : "",
                     p->last_handshake ? ")" : "") < 0 ||
            asprintf(&transfer, "%s received, %s sent", format_bytes(rx, p->rx_bytes), format_bytes(tx, p->tx_bytes)) < 0 ||
            asprintf(&created, "%s (%s)", format_timestamp(ts, p->created_at), format_relative(rel, p->created_at, now)) < 0 ||
            asprintf(&updated, "%s (%s)", format_timestamp(ts, p->updated_at), format_relative(rel, p->updated_at, now)) < 0)
                return oom();
        if (p->expires_at) {
                if (asprintf(&expires, "%s (%s)", format_timestamp(ts, p->expires_at),
                             format_relative(rel, p->expires_at, now)) < 0)
                        return oom();
        } else if (!(expires = strdup("never")))
                return oom();
        _cleanup_(freep) char *rotation = NULL, *last_rotation = NULL, *pending = NULL;
        char revoke[FORMAT_RELATIVE_MAX];
        if (format_rotation(p->rotation_interval, p->rotation_kind, p->grace_period, &rotation) < 0 ||
            asprintf(&last_rotation, "%s (%s)", format_timestamp(ts, p->last_rotation),
                     format_relative(rel, p->last_rotation, now)) < 0 ||
            asprintf(&pending, "new key %s, old key cut off at %s at the latest", p->pending_public_key ? p->pending_public_key : "-",
                     format_timestamp(ts, p->rotation_deadline)) < 0)
                return oom();

        r = 0;
        r = r < 0 ? r : fields_add(f, "Peer", p->name, ANSI_BOLD);
        r = r < 0 ? r : fields_add(f, "State", state, !p->enabled ? ANSI_YELLOW : online ? ANSI_GREEN : NULL);
        r = r < 0 ? r : fields_add(f, "Network", network, NULL);
        r = r < 0 ? r : fields_add(f, "Path", p->path, NULL);
        r = r < 0 ? r : fields_add(f, "Role", p->role, NULL);
        r = r < 0 ? r : fields_add(f, "Addresses", addresses, NULL);
        r = r < 0 ? r : fields_add(f, "Allowed IPs", allowed, NULL);
        if (p->site_networks && p->site_networks[0])
                r = r < 0 ? r : fields_add(f, "Site networks", sites, NULL);
        r = r < 0 ? r : fields_add(f, "Endpoint", p->endpoint, NULL);
        if (!isempty(p->remote_endpoint))
                r = r < 0 ? r : fields_add(f, "Remote endpoint", p->remote_endpoint, NULL);
        r = r < 0 ? r : fields_add(f, "Last handshake", handshake, NULL);
        r = r < 0 ? r : fields_add(f, "Transfer", transfer, NULL);
        r = r < 0 ? r : fields_add(f, "Keepalive", format_keepalive(ka, p->keepalive), NULL);
        r = r < 0 ? r : fields_add(f, "Public key", p->public_key, NULL);
        r = r < 0 ? r : fields_add(f, "Preshared key", p->has_psk ? "yes" : "no", NULL);
        r = r < 0 ? r : fields_add(f, "Private key", p->private_key_stored ? "stored (encrypted)" : "not stored", NULL);
        r = r < 0 ? r : fields_add(f, "Email", p->email, NULL);
        r = r < 0 ? r : fields_add(f, "Created", created, NULL);
        r = r < 0 ? r : fields_add(f, "Updated", updated, NULL);
        r = r < 0 ? r : fields_add(f, "Expires", expires, NULL);
        r = r < 0 ? r : fields_add(f, "Key rotation", rotation, NULL);
        if (p->last_rotation)
                r = r < 0 ? r : fields_add(f, "Last rotation", last_rotation, NULL);
        if (p->rotation_pending)
                r = r < 0 ? r : fields_add(f, "Rotation pending", pending, ANSI_YELLOW);
        r = r < 0 ? r : fields_add(f, "Revoke inactive", format_duration(revoke, p->revoke_after_inactive), NULL);
        if (r < 0)
                return oom();
        fields_print(f);
        return 0;
}

static bool config_has_private_key(const char *text) {
        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, "PrivateKey", 10) == 0)
                        return true;
        return false;
}

static int verb_peer_add(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path, *config;
        NetworkInfo *n = NULL;
        int r;

        if (GIVEN(OPT_PUBLIC_KEY) && strlen(arg.public_key) != 44)
                return usage_error("Invalid value '%s' for --public-key: expected 44 characters of base64 (wg pubkey)",
                                   arg.public_key);
        r = load(bus, &o);
        if (r == 0)
                r = find_network(&o, argv[0], &n);
        if (r != 0)
                return r;
        r = new_call(bus, &m, n->path, WGNET_NETWORK_INTERFACE, "AddPeer");
        if (r != 0)
                return r;
        if (sd_bus_message_append(m, "s", argv[1]) < 0 || append_peer_options(m, true) < 0)
                return oom();
        r = call(bus, m, &reply, "Cannot add peer '%s' to network '%s'", argv[1], n->name);
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_read(reply, "os", &path, &config) < 0)
                return fail("Cannot add peer '%s' to network '%s': bad reply", argv[1], n->name);

        bool generated = config_has_private_key(config);
        bool one_time = streq_ptr(n->key_policy, "one-time");

        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Name", json_new_string(argv[1])) < 0 ||
                    json_object_add(j, "Path", json_new_string(path)) < 0 ||
                    json_object_add(j, "Network", json_new_string(n->path)) < 0 ||
                    json_object_add(j, "PrivateKeyGenerated", json_new_bool(generated)) < 0 ||
                    json_object_add(j, "PrivateKeyStored", json_new_bool(generated && !one_time)) < 0 ||
                    json_object_add(j, "Config", json_new_string(config)) < 0)
                        return oom();
                /* Write to the file as well when asked to. */
                if (GIVEN(OPT_OUTPUT) && !streq(arg.output, "-")) {
                        r = write_secret_file(arg.output, config, strlen(config));
                        if (r != 0)
                                return r;
                }
                json_print(stdout, j, output.json_format);
                return 0;
        }

        if (!arg.quiet)
                fprintf(stderr, "Added peer '%s' to network '%s' (%s).\n", argv[1], n->name, path);
        if (GIVEN(OPT_OUTPUT)) {
                r = write_secret_file(arg.output, config, strlen(config));
                if (r != 0)
                        return r;
                if (!streq(arg.output, "-") && !arg.quiet)
                        fprintf(stderr, "Wrote the config to %s (mode 0600).\n", arg.output);
        } else {
                fputs(config, stdout);
                if (!*config || config[strlen(config) - 1] != '\n')
                        fputc('\n', stdout);
        }

        if (!generated) {
                if (!arg.quiet)
                        fprintf(stderr, "The peer uses its own key pair: put its private key into the config.\n");
                return 0;
        }
        if (one_time)
                fprintf(stderr, "%sThis is the only time this private key is shown:%s network '%s' does not store "
                        "private keys (key policy one-time). Save the config now.\n",
                        isatty(STDERR_FILENO) ? ANSI_YELLOW : "", isatty(STDERR_FILENO) ? ANSI_NORMAL : "", n->name);

        if (GIVEN(OPT_NO_QR) || (!GIVEN(OPT_QR) && !isatty(STDOUT_FILENO)))
                return 0;
        _cleanup_(wipe_freep) char *qr = NULL;
        _cleanup_(freep) char *what = NULL;
        if (asprintf(&what, "'%s' of network '%s'", argv[1], n->name) < 0)
                return oom();
        r = config_qr_utf8(config, what, &qr);
        if (r != 0)
                return r;
        fputs(qr, stdout);
        return 0;
}

static int verb_peer_rotate(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *what = GIVEN(OPT_PSK) ? "psk" : "keypair", *config;
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        uint64_t deadline = 0;
        int r;

        r = load(bus, &o);
        if (r == 0)
                r = find_peer(&o, argc, argv, &n, &p);
        if (r != 0)
                return r;
        r = new_call(bus, &m, p->path, WGNET_PEER_INTERFACE, "RotateKeys");
        if (r != 0)
                return r;
        if (sd_bus_message_append(m, "s", what) < 0)
                return oom();
        r = call(bus, m, &reply, "Cannot rotate the %s of peer '%s' of network '%s'",
                 GIVEN(OPT_PSK) ? "preshared key" : "key pair", p->name, n ? n->name : "?");
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_read(reply, "s", &config) < 0)
                return fail("Cannot read the new config of peer '%s': bad reply", p->name);
        if (!GIVEN(OPT_PSK))
                (void) sd_bus_get_property_trivial(bus, WGNET_BUS_NAME, p->path, WGNET_PEER_INTERFACE,
                                                   "RotationDeadline", &error, 't', &deadline);
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Path", json_new_string(p->path)) < 0 ||
                    json_object_add(j, "Rotated", json_new_string(what)) < 0 ||
                    json_object_add(j, "RotationDeadline", json_new_unsigned(deadline)) < 0 ||
                    json_object_add(j, "Config", json_new_string(config)) < 0)
                        return oom();
                if (GIVEN(OPT_OUTPUT) && !streq(arg.output, "-")) {
                        r = write_secret_file(arg.output, config, strlen(config));
                        if (r != 0)
                                return r;
                }
                json_print(stdout, j, output.json_format);
                return 0;
        }
        if (!arg.quiet) {
                char ts[FORMAT_TIMESTAMP_MAX];
                if (GIVEN(OPT_PSK))
                        fprintf(stderr, "New preshared key for peer '%s' of network '%s', in force now: the client is cut off "
                                "until it uses this config.\n", p->name, n ? n->name : "?");
                else
                        fprintf(stderr, "New key pair for peer '%s' of network '%s': the old key works until the new one "
                                "completes a handshake, at the latest until %s.\n", p->name, n ? n->name : "?",
                                deadline ? format_timestamp(ts, deadline) : "the grace period ends");
        }
        if (GIVEN(OPT_OUTPUT)) {
                r = write_secret_file(arg.output, config, strlen(config));
                if (r != 0)
                        return r;
                if (!streq(arg.output, "-") && !arg.quiet)
                        fprintf(stderr, "Wrote the new config to %s (mode 0600).\n", arg.output);
        } else
                fputs(config, stdout);
        if (GIVEN(OPT_NO_QR) || (!GIVEN(OPT_QR) && !isatty(STDOUT_FILENO)) || !config_has_private_key(config))
                return 0;
        _cleanup_(wipe_freep) char *qr = NULL;
        _cleanup_(freep) char *label = NULL;
        if (asprintf(&label, "'%s' of network '%s'", p->name, n ? n->name : "?") < 0)
                return oom();
        r = config_qr_utf8(config, label, &qr);
        if (r != 0)
                return r;
        fputs(qr, stdout);
        return 0;
}

static int peer_simple(sd_bus *bus, int argc, char **argv, const char *member, const char *what, const char *done) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        int r;

        r = load(bus, &o);
        if (r == 0)
                r = find_peer(&o, argc, argv, &n, &p);
        if (r != 0)
                return r;
        r = new_call(bus, &m, p->path, WGNET_PEER_INTERFACE, member);
        if (r != 0)
                return r;
        r = call(bus, m, NULL, "Cannot %s peer '%s' of network '%s'", what, p->name, n ? n->name : "?");
        if (r == 0 && !arg.quiet && !output.json)
                printf("Peer '%s' of network '%s' %s.\n", p->name, n ? n->name : "?", done);
        return r;
}

static int verb_peer_remove(sd_bus *bus, int argc, char **argv) {
        return peer_simple(bus, argc, argv, "Remove", "remove", "removed");
}

static int verb_peer_enable(sd_bus *bus, int argc, char **argv) {
        return peer_simple(bus, argc, argv, "Enable", "enable", "enabled");
}

static int verb_peer_disable(sd_bus *bus, int argc, char **argv) {
        return peer_simple(bus, argc, argv, "Disable", "disable", "disabled");
}

static int verb_peer_set(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        int r;

        r = check_settings_given("peer set", PEER_SETTINGS | BIT(OPT_NAME));
        if (r == 0)
                r = load(bus, &o);
        if (r == 0)
                r = find_peer(&o, argc, argv, &n, &p);
        if (r != 0)
                return r;
        r = new_call(bus, &m, p->path, WGNET_PEER_INTERFACE, "Update");
        if (r != 0)
                return r;
        if (append_peer_options(m, false) < 0)
                return oom();
        r = call(bus, m, NULL, "Cannot change peer '%s' of network '%s'", p->name, n ? n->name : "?");
        if (r == 0 && !arg.quiet && !output.json)
                printf("Peer '%s' of network '%s' updated.\n", GIVEN(OPT_NAME) ? arg.name : p->name, n ? n->name : "?");
        return r;
}

static int verb_peer_config(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *text;
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        int r;

        r = load(bus, &o);
        if (r == 0)
                r = find_peer(&o, argc, argv, &n, &p);
        if (r != 0)
                return r;
        r = new_call(bus, &m, p->path, WGNET_PEER_INTERFACE, "GetConfig");
        if (r != 0)
                return r;
        r = call(bus, m, &reply, "Cannot get the config of peer '%s' of network '%s'", p->name, n ? n->name : "?");
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_read(reply, "s", &text) < 0)
                return fail("Cannot read the config of peer '%s': bad reply", p->name);
        r = write_secret_file(GIVEN(OPT_OUTPUT) ? arg.output : "-", text, strlen(text));
        if (r == 0 && GIVEN(OPT_OUTPUT) && !streq(arg.output, "-") && !arg.quiet)
                fprintf(stderr, "Wrote the config of peer '%s' to %s (mode 0600).\n", p->name, arg.output);
        return r;
}

static int verb_peer_qr(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *format = "utf8", *file = NULL;
        const void *data;
        size_t size;
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        int r;

        if (GIVEN(OPT_PNG) && GIVEN(OPT_SVG))
                return usage_error("Give either --png or --svg, not both");
        if (GIVEN(OPT_PNG))
                format = "png", file = arg.png;
        else if (GIVEN(OPT_SVG))
                format = "svg", file = arg.svg;
        if (!file && GIVEN(OPT_OUTPUT))
                file = arg.output;
        r = load(bus, &o);
        if (r == 0)
                r = find_peer(&o, argc, argv, &n, &p);
        if (r != 0)
                return r;
        if (!file && !streq(format, "utf8") && isatty(STDOUT_FILENO))
                return usage_error("Not writing a %s image to a terminal: give --%s=FILE", format, format);
        if (streq(format, "utf8")) {
                /* The terminal form is drawn here from the config. */
                _cleanup_(wipe_freep) char *qr = NULL;
                _cleanup_(freep) char *what = NULL;
                const char *text;
                r = new_call(bus, &m, p->path, WGNET_PEER_INTERFACE, "GetConfig");
                if (r != 0)
                        return r;
                r = call(bus, m, &reply, "Cannot get the config of peer '%s' of network '%s'", p->name, n ? n->name : "?");
                if (r != 0)
                        return r;
                (void) sd_bus_message_sensitive(reply);
                if (sd_bus_message_read(reply, "s", &text) < 0)
                        return fail("Cannot read the config of peer '%s': bad reply", p->name);
                if (asprintf(&what, "'%s' of network '%s'", p->name, n ? n->name : "?") < 0)
                        return oom();
                r = config_qr_utf8(text, what, &qr);
                if (r != 0)
                        return r;
                return write_secret_file(file ? file : "-", qr, strlen(qr));
        }
        r = new_call(bus, &m, p->path, WGNET_PEER_INTERFACE, "GetQRCode");
        if (r != 0)
                return r;
        if (sd_bus_message_append(m, "s", format) < 0)
                return oom();
        r = call(bus, m, &reply, "Cannot get the QR code of peer '%s' of network '%s'", p->name, n ? n->name : "?");
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_read_array(reply, 'y', &data, &size) < 0)
                return fail("Cannot read the QR code of peer '%s': bad reply", p->name);
        r = write_secret_file(file ? file : "-", data, size);
        if (r == 0 && file && !streq(file, "-") && !arg.quiet)
                fprintf(stderr, "Wrote the QR code (%s) of peer '%s' to %s (mode 0600).\n", format, p->name, file);
        return r;
}

/* --- monitor ------------------------------------------------------------------------------ */

typedef struct Label {
        char *path, *text;
} Label;

static struct {
        Label *labels;
        size_t n;
        volatile sig_atomic_t quit;
} mon;

static const char *label_of(const char *path) {
        for (size_t i = 0; i < mon.n; i++)
                if (streq(mon.labels[i].path, path))
                        return mon.labels[i].text;
        return NULL;
}

static void label_set(const char *path, const char *text) {
        for (size_t i = 0; i < mon.n; i++)
                if (streq(mon.labels[i].path, path)) {
                        char *t = strdup(text);
                        if (t) {
                                free(mon.labels[i].text);
                                mon.labels[i].text = t;
                        }
                        return;
                }
        Label *l = realloc(mon.labels, (mon.n + 1) * sizeof(Label));
        if (!l)
                return;
        mon.labels = l;
        l[mon.n].path = strdup(path);
        l[mon.n].text = strdup(text);
        if (l[mon.n].path && l[mon.n].text)
                mon.n++;
        else {
                free(l[mon.n].path);
                free(l[mon.n].text);
        }
}

static void label_peer(const char *path, const char *network_path, const char *name) {
        const char *net = network_path ? label_of(network_path) : NULL;
        _cleanup_(freep) char *t = NULL;
        if (asprintf(&t, "%s/%s", net ? net : "?", name) >= 0)
                label_set(path, t);
}

/* One variant as text and JSON: basic types and arrays of them. */
static int read_variant(sd_bus_message *m, const char *name, FILE *text, Json **ret_json) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        if (streq(contents, "s") || streq(contents, "o")) {
                const char *s;
                r = sd_bus_message_read_basic(m, contents[0], &s);
                if (r >= 0) {
                        fprintf(text, "%s", *s ? s : "''");
                        *ret_json = json_new_string(s);
                }
        } else if (streq(contents, "b")) {
                int b;
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r >= 0) {
                        fprintf(text, "%s", b ? "yes" : "no");
                        *ret_json = json_new_bool(b);
                }
        } else if (streq(contents, "q") || streq(contents, "u") || streq(contents, "t")) {
                uint64_t v = 0;
                if (contents[0] == 'q') {
                        uint16_t q;
                        r = sd_bus_message_read_basic(m, 'q', &q);
                        v = q;
                } else if (contents[0] == 'u') {
                        uint32_t u;
                        r = sd_bus_message_read_basic(m, 'u', &u);
                        v = u;
                } else
                        r = sd_bus_message_read_basic(m, 't', &v);
                if (r >= 0) {
                        size_t len = strlen(name);
                        char ts[FORMAT_TIMESTAMP_MAX];
                        /* Times (µs since the epoch) as times. */
                        if (contents[0] == 't' && (streq(name, "LastHandshake") || (len > 2 && streq(name + len - 2, "At"))))
                                fprintf(text, "%s", format_timestamp(ts, v));
                        else
                                fprintf(text, "%" PRIu64, v);
                        *ret_json = json_new_unsigned(v);
                }
        } else if (streq(contents, "as") || streq(contents, "ao")) {
                _cleanup_(strv_freep) char **l = NULL;
                r = sd_bus_message_read_strv(m, &l);
                if (r >= 0) {
                        _cleanup_(freep) char *j = strv_join(l, ",");
                        fprintf(text, "[%s]", j ? j : "");
                        *ret_json = json_new_strv(l);
                }
        } else {
                r = sd_bus_message_skip(m, contents);
                if (r >= 0) {
                        fprintf(text, "(%s)", contents);
                        *ret_json = json_new_null();
                }
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static void monitor_emit(const char *path, const char *event, const char *details, Json *props) {
        uint64_t now = now_realtime_usec();
        const char *label = label_of(path);

        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                char ts[FORMAT_TIMESTAMP_MAX];
                if (j && json_object_add(j, "Time", json_new_unsigned(now)) >= 0 &&
                    json_object_add(j, "Timestamp", json_new_string(format_timestamp(ts, now))) >= 0 &&
                    json_object_add(j, "Path", json_new_string(path)) >= 0 &&
                    json_object_add(j, "Object", json_new_string(label)) >= 0 &&
                    json_object_add(j, "Event", json_new_string(event)) >= 0 &&
                    json_object_add(j, "Details", json_new_string(details)) >= 0 &&
                    json_object_add(j, "Properties", props ? props : json_new_object()) >= 0)
                        json_print(stdout, j, JSON_FORMAT_SHORT);
                fflush(stdout);
                return;
        }
        json_free(props);
        struct tm tm;
        time_t t = (time_t) (now / USEC_PER_SEC);
        char buf[32] = "";
        if (localtime_r(&t, &tm))
                strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%s.%03u %s%s%s %s%s%s", buf, (unsigned) (now % USEC_PER_SEC / 1000), ansi(ANSI_BOLD),
               label ? label : path, ansi(ANSI_NORMAL), event, details && *details ? ": " : "", details ? details : "");
        printf("\n");
        fflush(stdout);
}

/* From an a{sv} of properties: Name and Network, skipping the rest. */
static int read_name_and_network(sd_bus_message *m, char **ret_name, char **ret_network) {
        int r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents, *value;
                char type;
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                if ((streq(key, "Name") && streq(contents, "s")) || (streq(key, "Network") && streq(contents, "o"))) {
                        char **dst = streq(key, "Name") ? ret_name : ret_network;
                        r = sd_bus_message_read(m, "v", contents, &value);
                        if (r >= 0) {
                                free(*dst);
                                *dst = strdup(value);
                                if (!*dst)
                                        r = -ENOMEM;
                        }
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *member = sd_bus_message_get_member(m), *path = sd_bus_message_get_path(m);
        _cleanup_(freep) char *details = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&details, &size);
        Json *props = NULL;
        int r = 0;

        if (!f || !member || !path) {
                if (f)
                        fclose(f);
                return 0;
        }

        if (streq(member, "PropertiesChanged")) {
                const char *iface;
                props = json_new_object();
                r = sd_bus_message_read(m, "s", &iface);
                if (r >= 0)
                        r = sd_bus_message_enter_container(m, 'a', "{sv}");
                bool first = true;
                while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                        const char *name;
                        Json *v = NULL;
                        r = sd_bus_message_read(m, "s", &name);
                        if (r < 0)
                                break;
                        fprintf(f, "%s%s=", first ? "" : " ", name);
                        first = false;
                        /* Keep the labels in step with renames. */
                        if (streq(name, "Name")) {
                                const char *contents;
                                char t;
                                if (sd_bus_message_peek_type(m, &t, &contents) >= 0 && streq(contents, "s")) {
                                        const char *nn;
                                        if (sd_bus_message_enter_container(m, 'v', "s") >= 0 &&
                                            sd_bus_message_read(m, "s", &nn) >= 0) {
                                                fprintf(f, "%s", nn);
                                                v = json_new_string(nn);
                                                (void) sd_bus_message_exit_container(m);
                                                if (streq(iface, WGNET_NETWORK_INTERFACE))
                                                        label_set(path, nn);
                                                else {
                                                        const char *old = label_of(path), *slash = old ? strchr(old, '/') : NULL;
                                                        _cleanup_(freep) char *t2 = NULL;
                                                        if (asprintf(&t2, "%.*s/%s", slash ? (int) (slash - old) : 1,
                                                                     slash ? old : "?", nn) >= 0)
                                                                label_set(path, t2);
                                                }
                                        }
                                }
                        } else
                                r = read_variant(m, name, f, &v);
                        if (r >= 0)
                                r = json_object_add(props, name, v ? v : json_new_null());
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                _cleanup_(strv_freep) char **invalidated = NULL;
                if (r >= 0 && sd_bus_message_read_strv(m, &invalidated) >= 0 && invalidated && invalidated[0]) {
                        _cleanup_(freep) char *j = strv_join(invalidated, ",");
                        fprintf(f, "%sinvalidated=%s", first ? "" : " ", j ? j : "");
                }
        } else if (streq(member, "InterfacesAdded") || streq(member, "InterfacesRemoved")) {
                const char *object;
                bool added = streq(member, "InterfacesAdded");
                _cleanup_(strv_freep) char **ifaces = NULL;
                r = sd_bus_message_read(m, "o", &object);
                if (r >= 0 && added) {
                        /* Learn the name of the new object from its properties first. */
                        r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
                        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                                const char *iface;
                                r = sd_bus_message_read(m, "s", &iface);
                                if (r >= 0 && strncmp(iface, "org.wgnet1.", 11) == 0)
                                        r = strv_push(&ifaces, iface);
                                if (r >= 0 && (streq(iface, WGNET_NETWORK_INTERFACE) || streq(iface, WGNET_PEER_INTERFACE))) {
                                        _cleanup_(freep) char *name = NULL, *network = NULL;
                                        r = read_name_and_network(m, &name, &network);
                                        if (r >= 0 && name) {
                                                if (streq(iface, WGNET_NETWORK_INTERFACE))
                                                        label_set(object, name);
                                                else
                                                        label_peer(object, network, name);
                                        }
                                } else if (r >= 0)
                                        r = sd_bus_message_skip(m, "a{sv}");
                                if (r >= 0)
                                        r = sd_bus_message_exit_container(m);
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else if (r >= 0) {
                        _cleanup_(strv_freep) char **all = NULL;
                        r = sd_bus_message_read_strv(m, &all);
                        for (size_t i = 0; r >= 0 && all && all[i]; i++)
                                if (strncmp(all[i], "org.wgnet1.", 11) == 0)
                                        r = strv_push(&ifaces, all[i]);
                }
                if (r >= 0) {
                        _cleanup_(freep) char *j = strv_join(ifaces, ",");
                        fprintf(f, "%s %s", added ? "added" : "removed", j ? j : "");
                        path = object;
                        props = json_new_object();
                        if (json_object_add(props, "Interfaces", json_new_strv(ifaces)) < 0)
                                r = -ENOMEM;
                }
        } else if (streq(member, "PeerAdded") || streq(member, "PeerRemoved")) {
                const char *peer;
                r = sd_bus_message_read(m, "o", &peer);
                if (r >= 0) {
                        const char *l = label_of(peer);
                        fprintf(f, "%s", l ? l : peer);
                        props = json_new_object();
                        if (json_object_add(props, "Peer", json_new_string(peer)) < 0)
                                r = -ENOMEM;
                }
        } else if (streq(member, "RotationPending")) {
                uint64_t deadline;
                char ts[FORMAT_TIMESTAMP_MAX];
                r = sd_bus_message_read(m, "t", &deadline);
                if (r >= 0)
                        fprintf(f, "new keys take over at %s", format_timestamp(ts, deadline));
        } else if (streq(member, "Revoked")) {
                const char *reason;
                r = sd_bus_message_read(m, "s", &reason);
                if (r >= 0)
                        fprintf(f, "%s", reason);
        }
        fclose(f);
        if (r < 0) {
                json_free(props);
                fprintf(stderr, "wgnetctl: Cannot parse signal %s from %s: %s\n", member, path, strerror(-r));
                return 0;
        }
        monitor_emit(path, member, details, props);
        return 0;
}

/* Learn labels (network and peer names) from the daemon, quietly if it is not running. */
static void monitor_learn(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(objects_done) Objects o = { 0 };
        if (objects_load(bus, &o, &error) < 0)
                return;
        for (size_t i = 0; i < o.n_networks; i++)
                if (o.networks[i].name)
                        label_set(o.networks[i].path, o.networks[i].name);
        for (size_t i = 0; i < o.n_peers; i++)
                if (o.peers[i].name)
                        label_peer(o.peers[i].path, o.peers[i].network, o.peers[i].name);
}

/* --- verbs: tunnels --------------------------------------------------------------------- */

#define WGNET_TUNNEL_INTERFACE "org.wgnet1.Tunnel"
#define TUNNEL_SETTINGS                                                                                  \
        (BIT(OPT_PORT) | BIT(OPT_ENDPOINT) | BIT(OPT_LOCAL_NETWORK) | BIT(OPT_REMOTE_NETWORK) |          \
         BIT(OPT_REMOTE_ENDPOINT) | BIT(OPT_PUBLIC_KEY) | BIT(OPT_TUNNEL_ADDRESS) | BIT(OPT_KEEPALIVE) | \
         BIT(OPT_PAIRING_LIFETIME) | BIT(OPT_ONLINE_THRESHOLD))
#define TUNNEL_IMPORT_SETTINGS                                                                           \
        (BIT(OPT_NAME) | BIT(OPT_INTERFACE) | BIT(OPT_PORT) | BIT(OPT_ENDPOINT) | BIT(OPT_LOCAL_NETWORK) | \
         BIT(OPT_KEEPALIVE) | BIT(OPT_PAIRING_LIFETIME) | BIT(OPT_ONLINE_THRESHOLD) | BIT(OPT_INACTIVE))

/* creating: CreateTunnel; importing: ImportPairing (only what an offer leaves open). */
static int append_tunnel_options(sd_bus_message *m, bool creating, bool importing) {
        int r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && GIVEN(OPT_PORT))
                r = sd_bus_message_append(m, "{sv}", "ListenPort", "q", arg.port);
        if (r >= 0 && GIVEN(OPT_ENDPOINT))
                r = sd_bus_message_append(m, "{sv}", "Endpoint", "s", arg.endpoint);
        if (r >= 0 && GIVEN(OPT_LOCAL_NETWORK))
                r = append_strv_option(m, "LocalNetworks", arg.local_networks);
        if (r >= 0 && !importing && GIVEN(OPT_REMOTE_NETWORK))
                r = append_strv_option(m, "RemoteNetworks", arg.remote_networks);
        if (r >= 0 && !importing && GIVEN(OPT_TUNNEL_ADDRESS))
                r = append_strv_option(m, "TunnelAddresses", arg.tunnel_addresses);
        if (r >= 0 && !importing && GIVEN(OPT_REMOTE_ENDPOINT))
                r = sd_bus_message_append(m, "{sv}", "RemoteEndpoint", "s", arg.remote_endpoint);
        if (r >= 0 && !importing && GIVEN(OPT_PUBLIC_KEY))
                r = sd_bus_message_append(m, "{sv}", "RemotePublicKey", "s", arg.public_key);
        if (r >= 0 && GIVEN(OPT_KEEPALIVE))
                r = sd_bus_message_append(m, "{sv}", "PersistentKeepalive", "q", arg.keepalive);
        if (r >= 0 && GIVEN(OPT_PAIRING_LIFETIME))
                r = sd_bus_message_append(m, "{sv}", "PairingLifetime", "u", arg.pairing_lifetime);
        if (r >= 0 && GIVEN(OPT_ONLINE_THRESHOLD))
                r = sd_bus_message_append(m, "{sv}", "OnlineThreshold", "u", arg.online_threshold);
        if (r >= 0 && (creating || importing) && GIVEN(OPT_INTERFACE))
                r = sd_bus_message_append(m, "{sv}", "Interface", "s", arg.interface);
        if (r >= 0 && (creating || importing) && GIVEN(OPT_INACTIVE))
                r = sd_bus_message_append(m, "{sv}", "Activate", "b", 0);
        if (r >= 0 && importing && GIVEN(OPT_NAME))
                r = sd_bus_message_append(m, "{sv}", "Name", "s", arg.name);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int find_tunnel(Objects *o, const char *name, TunnelInfo **ret) {
        TunnelInfo *t = objects_find_tunnel(o, name);
        if (!t)
                return fail("No tunnel '%s' (give its name, interface or object path; see 'wgnetctl tunnel list')", name);
        *ret = t;
        return 0;
}

static const char *tunnel_state_color(const char *state) {
        if (streq_ptr(state, "up"))
                return ANSI_GREEN;
        if (streq_ptr(state, "connecting"))
                return ANSI_YELLOW;
        if (streq_ptr(state, "down"))
                return ANSI_RED;
        return ANSI_GREY;
}

static Json *tunnel_json(const TunnelInfo *t) {
        Json *j = json_new_object();
        if (!j || json_object_add(j, "Name", json_new_string(t->name)) < 0 ||
            json_object_add(j, "Path", json_new_string(t->path)) < 0 ||
            json_object_add(j, "Interface", json_new_string(t->interface)) < 0 ||
            json_object_add(j, "State", json_new_string(t->state)) < 0 ||
            json_object_add(j, "Active", json_new_bool(t->active)) < 0 ||
            json_object_add(j, "Pairing", json_new_string(t->pairing)) < 0 ||
            json_object_add(j, "ListenPort", json_new_unsigned(t->listen_port)) < 0 ||
            json_object_add(j, "PublicKey", json_new_string(t->public_key)) < 0 ||
            json_object_add(j, "RemotePublicKey", json_new_string(t->remote_public_key)) < 0 ||
            json_object_add(j, "LocalEndpoint", json_new_string(t->local_endpoint)) < 0 ||
            json_object_add(j, "RemoteEndpoint", json_new_string(t->remote_endpoint)) < 0 ||
            json_object_add(j, "Endpoint", json_new_string(t->endpoint)) < 0 ||
            json_object_add(j, "LocalNetworks", json_new_strv(t->local_networks)) < 0 ||
            json_object_add(j, "RemoteNetworks", json_new_strv(t->remote_networks)) < 0 ||
            json_object_add(j, "TunnelAddresses", json_new_strv(t->tunnel_addresses)) < 0 ||
            json_object_add(j, "Routes", json_new_strv(t->routes)) < 0 ||
            json_object_add(j, "PersistentKeepalive", json_new_unsigned(t->keepalive)) < 0 ||
            json_object_add(j, "HasPresharedKey", json_new_bool(t->has_psk)) < 0 ||
            json_object_add(j, "LastHandshake", json_new_unsigned(t->last_handshake)) < 0 ||
            json_object_add(j, "RxBytes", json_new_unsigned(t->rx_bytes)) < 0 ||
            json_object_add(j, "TxBytes", json_new_unsigned(t->tx_bytes)) < 0)
                return json_free(j);
        return j;
}

static const Column tunnel_columns[] = {
        { "", 0 },
        { "NAME", 0 },
        { "INTERFACE", 0 },
        { "STATE", 0 },
        { "REMOTE", COLUMN_TRUNC },
        { "REMOTE NETWORKS", COLUMN_WRAP },
        { "HANDSHAKE", 0 },
        { "RX", COLUMN_RIGHT },
        { "TX", COLUMN_RIGHT },
        { "REMOTE KEY", COLUMN_KEY },
};

static int verb_tunnel_list(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(table_freep) Table *t = NULL;
        uint64_t now = now_realtime_usec();
        int r = load(bus, &o);
        if (r != 0)
                return r;
        t = table_new(tunnel_columns, ELEMENTSOF(tunnel_columns));
        if (!t)
                return oom();
        for (size_t i = 0; i < o.n_tunnels; i++) {
                TunnelInfo *x = &o.tunnels[i];
                _cleanup_(freep) char *nets = strv_join(x->remote_networks, " ");
                char hs[FORMAT_RELATIVE_MAX], rx[FORMAT_BYTES_MAX], tx[FORMAT_BYTES_MAX];
                bool up = streq_ptr(x->state, "up");
                const char *cells[] = {
                        dot(up),
                        x->name,
                        x->interface,
                        x->state,
                        !isempty(x->endpoint) ? x->endpoint : x->remote_endpoint,
                        nets,
                        x->last_handshake ? format_relative(hs, x->last_handshake, now) : "never",
                        format_bytes(rx, x->rx_bytes),
                        format_bytes(tx, x->tx_bytes),
                        x->remote_public_key,
                };
                const char *colors[ELEMENTSOF(cells)] = {
                        [0] = up ? ANSI_GREEN : ANSI_GREY,
                        [3] = tunnel_state_color(x->state),
                };
                if (!nets)
                        return oom();
                if (table_add_row(t, cells, colors, tunnel_json(x)) < 0)
                        return oom();
        }
        if (table_print(t) < 0)
                return fail("Cannot print the table");
        if (!output.json && output.legend)
                printf("\n%zu tunnel%s listed.\n", table_rows(t), table_rows(t) == 1 ? "" : "s");
        return 0;
}

static int tunnel_fields(const TunnelInfo *t, Fields *f) {
        _cleanup_(freep) char *local = strv_join(t->local_networks, " ");
        _cleanup_(freep) char *remote = strv_join(t->remote_networks, " ");
        _cleanup_(freep) char *addrs = strv_join(t->tunnel_addresses, " ");
        _cleanup_(freep) char *routes = strv_join(t->routes, " ");
        _cleanup_(freep) char *state = NULL;
        char port[8], hs[FORMAT_RELATIVE_MAX + FORMAT_TIMESTAMP_MAX + 4], rel[FORMAT_RELATIVE_MAX],
                ts[FORMAT_TIMESTAMP_MAX], ka[FORMAT_RELATIVE_MAX], rx[FORMAT_BYTES_MAX], tx[FORMAT_BYTES_MAX],
                traffic[2 * FORMAT_BYTES_MAX + 32];
        int r = 0;

        if (!local || !remote || !addrs || !routes ||
            asprintf(&state, "%s %s", dot(streq_ptr(t->state, "up")), t->state ? t->state : "-") < 0)
                return -ENOMEM;
        snprintf(port, sizeof(port), "%u", t->listen_port);
        if (t->last_handshake)
                snprintf(hs, sizeof(hs), "%s (%s)", format_relative(rel, t->last_handshake, now_realtime_usec()),
                         format_timestamp(ts, t->last_handshake));
        else
                snprintf(hs, sizeof(hs), "never");
        snprintf(traffic, sizeof(traffic), "%s received, %s sent", format_bytes(rx, t->rx_bytes),
                 format_bytes(tx, t->tx_bytes));
        r = r < 0 ? r : fields_add(f, "Tunnel", t->name, ANSI_BOLD);
        r = r < 0 ? r : fields_add(f, "State", state, tunnel_state_color(t->state));
        r = r < 0 ? r : fields_add(f, "Interface", t->interface, NULL);
        r = r < 0 ? r : fields_add(f, "Path", t->path, NULL);
        r = r < 0 ? r : fields_add(f, "Listen port", port, NULL);
        r = r < 0 ? r : fields_add(f, "Public key", t->public_key, NULL);
        r = r < 0 ? r : fields_add(f, "Local endpoint", t->local_endpoint, NULL);
        r = r < 0 ? r : fields_add(f, "Local networks", local, NULL);
        r = r < 0 ? r : fields_add(f, "Tunnel addresses", addrs, NULL);
        r = r < 0 ? r : fields_add(f, "Remote key", t->remote_public_key, NULL);
        r = r < 0 ? r : fields_add(f, "Remote endpoint", t->remote_endpoint, NULL);
        r = r < 0 ? r : fields_add(f, "Remote networks", remote, NULL);
        r = r < 0 ? r : fields_add(f, "Routes", routes, NULL);
        r = r < 0 ? r : fields_add(f, "Seen at", t->endpoint, NULL);
        r = r < 0 ? r : fields_add(f, "Handshake", hs, NULL);
        r = r < 0 ? r : fields_add(f, "Transfer", traffic, NULL);
        r = r < 0 ? r : fields_add(f, "Keepalive", format_keepalive(ka, t->keepalive), NULL);
        r = r < 0 ? r : fields_add(f, "Preshared key", t->has_psk ? "yes" : "no", NULL);
        r = r < 0 ? r : fields_add(f, "Pairing", t->pairing, NULL);
        return r;
}

static int verb_tunnel_show(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(json_freep) Json *array = NULL;
        int r = load(bus, &o);
        if (r != 0)
                return r;
        if (output.json && !(array = json_new_array()))
                return oom();
        for (int i = 0; i < argc; i++) {
                _cleanup_(fields_freep) Fields *f = fields_new();
                TunnelInfo *t = NULL;
                r = find_tunnel(&o, argv[i], &t);
                if (r != 0)
                        return r;
                if (array) {
                        Json *j = tunnel_json(t);
                        if (!j || json_array_add(array, j) < 0)
                                return oom();
                        continue;
                }
                if (!f || tunnel_fields(t, f) < 0)
                        return oom();
                if (i > 0)
                        printf("\n");
                fields_print(f);
        }
        return array ? print_json_array(array) : 0;
}

static int verb_tunnel_create(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path;
        int r;

        r = new_call(bus, &m, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "CreateTunnel");
        if (r != 0)
                return r;
        if (sd_bus_message_append(m, "s", argv[0]) < 0 || append_tunnel_options(m, true, false) < 0)
                return oom();
        r = call(bus, m, &reply, "Cannot create tunnel '%s'", argv[0]);
        if (r != 0)
                return r;
        if (sd_bus_message_read(reply, "o", &path) < 0)
                return fail("Cannot create tunnel '%s': bad reply", argv[0]);
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Name", json_new_string(argv[0])) < 0 ||
                    json_object_add(j, "Path", json_new_string(path)) < 0)
                        return oom();
                json_print(stdout, j, output.json_format);
        } else if (!arg.quiet)
                printf("Created tunnel '%s' (%s).\n%s", argv[0], path,
                       GIVEN(OPT_PUBLIC_KEY) ? ""
                                             : "Pair it: run 'wgnetctl tunnel pairing NAME' here and import the string on the other host.\n");
        return 0;
}

/* GetPairing of the tunnel at path; *ret is malloc'd (wipe it). */
static int get_pairing(sd_bus *bus, const char *path, const char *name, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *s;
        int r = new_call(bus, &m, path, WGNET_TUNNEL_INTERFACE, "GetPairing");
        if (r != 0)
                return r;
        r = call(bus, m, &reply, "Cannot get a pairing string for tunnel '%s'", name);
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_read(reply, "s", &s) < 0)
                return fail("Cannot get a pairing string for tunnel '%s': bad reply", name);
        *ret = strdup(s);
        return *ret ? 0 : oom();
}

static int verb_tunnel_pairing(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(wipe_freep) char *s = NULL;
        TunnelInfo *t = NULL;
        int r = load(bus, &o);
        if (r == 0)
                r = find_tunnel(&o, argv[0], &t);
        if (r == 0)
                r = get_pairing(bus, t->path, t->name, &s);
        if (r != 0)
                return r;
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Tunnel", json_new_string(t->name)) < 0 ||
                    json_object_add(j, "Pairing", json_new_string(s)) < 0)
                        return oom();
                json_print(stdout, j, output.json_format);
        } else
                printf("%s\n", s);
        return 0;
}

static int verb_tunnel_import(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(wipe_freep) char *text = NULL, *answer = NULL;
        _cleanup_(objects_done) Objects o = { 0 };
        TunnelInfo *t = NULL;
        const char *path;
        int r;

        if (streq(argv[0], "-")) {
                r = read_file_text("-", &text);
                if (r != 0)
                        return r;
        } else if (!(text = strdup(argv[0])))
                return oom();
        r = new_call(bus, &m, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "ImportPairing");
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(m);
        if (sd_bus_message_append(m, "s", text) < 0 || append_tunnel_options(m, false, true) < 0)
                return oom();
        r = call(bus, m, &reply, "Cannot import the pairing string");
        if (r != 0)
                return r;
        if (sd_bus_message_read(reply, "o", &path) < 0)
                return fail("Cannot import the pairing string: bad reply");
        r = load(bus, &o);
        if (r == 0)
                r = find_tunnel(&o, path, &t);
        if (r != 0)
                return r;
        /* An offer made a new tunnel here: its reply completes the other side. */
        bool created = streq_ptr(t->pairing, "imported");
        if (created) {
                r = get_pairing(bus, t->path, t->name, &answer);
                if (r != 0)
                        return r;
        }
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Name", json_new_string(t->name)) < 0 ||
                    json_object_add(j, "Path", json_new_string(t->path)) < 0 ||
                    json_object_add(j, "Reply", json_new_string(answer)) < 0)
                        return oom();
                json_print(stdout, j, output.json_format);
        } else if (created && arg.quiet)
                printf("%s\n", answer);
        else if (created)
                printf("Created tunnel '%s' (%s).\n"
                       "Complete it on the other host with:\n\n  wgnetctl tunnel import %s\n",
                       t->name, t->path, answer);
        else if (!arg.quiet)
                printf("Tunnel '%s' (%s) is paired.\n", t->name, t->path);
        return 0;
}

/* A simple method without arguments on each named network or tunnel. */
static int object_simple(sd_bus *bus, int argc, char **argv, bool tunnel, const char *member, const char *what,
                         const char *done) {
        _cleanup_(objects_done) Objects o = { 0 };
        int r = load(bus, &o);
        if (r != 0)
                return r;
        for (int i = 0; i < argc; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                const char *path, *name;
                if (tunnel) {
                        TunnelInfo *t = NULL;
                        r = find_tunnel(&o, argv[i], &t);
                        if (r != 0)
                                return r;
                        path = t->path;
                        name = t->name;
                } else {
                        NetworkInfo *n = NULL;
                        r = find_network(&o, argv[i], &n);
                        if (r != 0)
                                return r;
                        path = n->path;
                        name = n->name;
                }
                r = new_call(bus, &m, path, tunnel ? WGNET_TUNNEL_INTERFACE : WGNET_NETWORK_INTERFACE, member);
                if (r != 0)
                        return r;
                r = call(bus, m, NULL, "Cannot %s %s '%s'", what, tunnel ? "tunnel" : "network", name);
                if (r != 0)
                        return r;
                if (!arg.quiet && !output.json)
                        printf("%s '%s' %s.\n", tunnel ? "Tunnel" : "Network", name, done);
        }
        return 0;
}

static int verb_tunnel_delete(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, true, "Delete", "delete", "deleted");
}

static int verb_tunnel_up(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, true, "Activate", "activate", "activated");
}

static int verb_tunnel_down(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, true, "Deactivate", "deactivate", "deactivated");
}

static int verb_tunnel_set(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        TunnelInfo *t = NULL;
        int r = check_settings_given("tunnel set", TUNNEL_SETTINGS);
        if (r == 0)
                r = load(bus, &o);
        if (r == 0)
                r = find_tunnel(&o, argv[0], &t);
        if (r == 0)
                r = new_call(bus, &m, t->path, WGNET_TUNNEL_INTERFACE, "Update");
        if (r != 0)
                return r;
        if (append_tunnel_options(m, false, false) < 0)
                return oom();
        r = call(bus, m, NULL, "Cannot change tunnel '%s'", t->name);
        if (r == 0 && !arg.quiet && !output.json)
                printf("Tunnel '%s' updated.\n", t->name);
        return r;
}
static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name, *old, *new;
        if (sd_bus_message_read(m, "sss", &name, &old, &new) < 0 || !streq(name, WGNET_BUS_NAME))
                return 0;
        monitor_emit(WGNET_OBJECT_ROOT, *new ? "DaemonStarted" : "DaemonStopped", *new ? new : old, NULL);
        if (*new)
                monitor_learn(sd_bus_message_get_bus(m));      /* names of what it loaded */
        return 0;
}

static void on_quit(int sig) {
        mon.quit = 1;
}


static int verb_monitor(sd_bus *bus, int argc, char **argv) {
        int r;

        setvbuf(stdout, NULL, _IOLBF, 0);
        struct sigaction sa = { .sa_handler = on_quit };
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);

        r = sd_bus_add_match(bus, NULL,
                                     "type='signal',sender='" WGNET_BUS_NAME "',path_namespace='" WGNET_OBJECT_ROOT "'",
                                     on_signal, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, NULL);
        if (r < 0)
                return fail("Cannot watch the signals of %s: %s", WGNET_BUS_NAME, strerror(-r));
        monitor_learn(bus);
        if (!arg.quiet)
                fprintf(stderr, "Monitoring %s; press Ctrl-C to stop.\n", WGNET_BUS_NAME);

        while (!mon.quit) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        if (r == -ECONNRESET || r == -ENOTCONN)
                                return fail("Lost the connection to the system bus");
                        return fail("Cannot process bus messages: %s", strerror(-r));
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return fail("Cannot wait for bus messages: %s", strerror(-r));
        }
        for (size_t i = 0; i < mon.n; i++) {
                free(mon.labels[i].path);
                free(mon.labels[i].text);
        }
        free(mon.labels);
        return 0;
}

/* --- version ------------------------------------------------------------------------------ */

static int verb_version(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(freep) char *version = NULL, *backend = NULL;
        int r;

        r = sd_bus_get_property_string(bus, WGNET_BUS_NAME, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "Version",
                                       &error, &version);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, WGNET_BUS_NAME, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE,
                                               "Backend", &error, &backend);
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Client", json_new_string(WGNET_VERSION)) < 0 ||
                    json_object_add(j, "Daemon", json_new_string(version)) < 0 ||
                    json_object_add(j, "Backend", json_new_string(backend)) < 0)
                        return oom();
                json_print(stdout, j, output.json_format);
        } else {
                printf("wgnetctl %s\n", WGNET_VERSION);
                if (r >= 0)
                        printf("wgnetd %s (%s backend)\n", version, backend);
        }
        if (r < 0)
                return report_bus_error(&error, r, NULL, NULL, "Cannot read the version of wgnetd");
        return 0;
}

/* --- the verb table ------------------------------------------------------------------------- */

static int verb_help(sd_bus *bus, int argc, char **argv);

/* The mesh verbs (docs/mesh.md), with this file's helpers. */
#include "wgnetctl-mesh.c"

static const Verb verbs[] = {
        { NULL, "status", 0, 1, verb_status, false, 0, "[NETWORK]", "Show networks and their peers" },
        { "network", "list", 0, 0, verb_network_list, false, 0, "", "List networks" },
        { "network", "show", 1, 16, verb_network_show, false, 0, "NETWORK...", "Show networks in detail" },
        { "network", "create", 1, 1, verb_network_create, true,
          NET_SETTINGS | BIT(OPT_KEY_POLICY) | BIT(OPT_INTERFACE) | BIT(OPT_INACTIVE), "NAME --address=CIDR [OPTIONS]",
          "Create a network (a new WireGuard interface)" },
        { "network", "delete", 1, 16, verb_network_delete, true, 0, "NETWORK...", "Delete networks and their peers" },
        { "network", "up", 1, 16, verb_network_up, true, 0, "NETWORK...", "Activate networks" },
        { "network", "down", 1, 16, verb_network_down, true, 0, "NETWORK...", "Deactivate networks" },
        { "network", "set", 1, 1, verb_network_set, true, NET_SETTINGS, "NETWORK OPTIONS", "Change network settings" },
        { "network", "import", 2, 2, verb_network_import, true,
          BIT(OPT_DNS) | BIT(OPT_ENDPOINT) | BIT(OPT_PORT) | BIT(OPT_MTU) | BIT(OPT_MODE) | BIT(OPT_ROUTE) |
          BIT(OPT_ISOLATION) | BIT(OPT_NAT_INTERFACE) | BIT(OPT_ONLINE_THRESHOLD) | BIT(OPT_INTERFACE) |
          BIT(OPT_INACTIVE), "NAME FILE|-", "Import a wg-quick config with its peers" },
        { "network", "export", 1, 1, verb_network_export, true, BIT(OPT_OUTPUT) | BIT(OPT_FORCE), "NETWORK [-o FILE]",
          "Print the network as a wg-quick config (with the private key)" },
        { "network", "next-ip", 1, 1, verb_network_next_ip, false, 0, "NETWORK", "Show the next free peer addresses" },
        { "peer", "list", 0, 1, verb_peer_list, false, 0, "[NETWORK]", "List peers" },
        { "peer", "show", 1, 2, verb_peer_show, false, 0, "NETWORK PEER", "Show a peer in detail" },
        { "peer", "add", 2, 2, verb_peer_add, true,
          PEER_SETTINGS | BIT(OPT_PSK) | BIT(OPT_NO_PSK) | BIT(OPT_PUBLIC_KEY) | BIT(OPT_DISABLED) | BIT(OPT_OUTPUT) |
          BIT(OPT_FORCE) | BIT(OPT_QR) | BIT(OPT_NO_QR), "NETWORK NAME [OPTIONS]",
          "Add a peer; prints its config and QR code" },
        { "peer", "remove", 1, 2, verb_peer_remove, true, 0, "NETWORK PEER", "Remove a peer" },
        { "peer", "enable", 1, 2, verb_peer_enable, true, 0, "NETWORK PEER", "Enable a peer" },
        { "peer", "disable", 1, 2, verb_peer_disable, true, 0, "NETWORK PEER", "Disable a peer (keeps it)" },
        { "peer", "set", 1, 2, verb_peer_set, true, PEER_SETTINGS | BIT(OPT_NAME), "NETWORK PEER OPTIONS",
          "Change peer settings" },
        { "peer", "config", 1, 2, verb_peer_config, true, BIT(OPT_OUTPUT) | BIT(OPT_FORCE), "NETWORK PEER [-o FILE]",
          "Print a peer's client config" },
        { "peer", "rotate", 1, 2, verb_peer_rotate, true,
          BIT(OPT_PSK) | BIT(OPT_OUTPUT) | BIT(OPT_FORCE) | BIT(OPT_QR) | BIT(OPT_NO_QR), "NETWORK PEER [--psk]",
          "New key pair (with a grace period), or a new preshared key" },
        { "peer", "qr", 1, 2, verb_peer_qr, true, BIT(OPT_PNG) | BIT(OPT_SVG) | BIT(OPT_OUTPUT) | BIT(OPT_FORCE),
          "NETWORK PEER [--png=FILE|--svg=FILE]", "Show a peer's config as a QR code" },
        { "tunnel", "list", 0, 0, verb_tunnel_list, false, 0, "", "List node-to-node tunnels" },
        { "tunnel", "show", 1, 16, verb_tunnel_show, false, 0, "TUNNEL...", "Show tunnels in detail" },
        { "tunnel", "create", 1, 1, verb_tunnel_create, true,
          TUNNEL_SETTINGS | BIT(OPT_INTERFACE) | BIT(OPT_INACTIVE), "NAME [OPTIONS]",
          "Create a tunnel to another host (pair it, or give --public-key)" },
        { "tunnel", "pairing", 1, 1, verb_tunnel_pairing, true, 0, "TUNNEL",
          "Print the pairing string to import on the other host" },
        { "tunnel", "import", 1, 1, verb_tunnel_import, true, TUNNEL_IMPORT_SETTINGS, "PAIRING|- [OPTIONS]",
          "Import a pairing string: create the tunnel, or complete it" },
        { "tunnel", "up", 1, 16, verb_tunnel_up, true, 0, "TUNNEL...", "Activate tunnels" },
        { "tunnel", "down", 1, 16, verb_tunnel_down, true, 0, "TUNNEL...", "Deactivate tunnels" },
        { "tunnel", "set", 1, 1, verb_tunnel_set, true, TUNNEL_SETTINGS, "TUNNEL OPTIONS", "Change tunnel settings" },
        { "tunnel", "delete", 1, 16, verb_tunnel_delete, true, 0, "TUNNEL...", "Delete tunnels" },
        { "mesh", "create", 1, 1, verb_mesh_create, true,
          NET_SETTINGS | BIT(OPT_INTERFACE) | BIT(OPT_INACTIVE), "NAME --address=CIDR --endpoint=ADDR:PORT",
          "Create a mesh that this host coordinates" },
        { "mesh", "invite", 1, 1, verb_mesh_invite, true, BIT(OPT_NAME) | BIT(OPT_ENDPOINT) | BIT(OPT_EXPIRES),
          "MESH [--name=NAME] [--expires=+1h]", "Print a one-time invitation for another host" },
        { "mesh", "join", 1, 1, verb_mesh_join, true, BIT(OPT_NAME) | BIT(OPT_INTERFACE) | BIT(OPT_PORT),
          "INVITATION|- [--name=NAME]", "Join a mesh with an invitation (this host's key is made here)" },
        { "mesh", "leave", 1, 1, verb_mesh_leave, true, 0, "MESH", "Leave a mesh and remove its interface" },
        { "mesh", "members", 1, 1, verb_mesh_members, false, 0, "MESH", "List the members of a mesh" },
        { "mesh", "exit-node", 2, 3, verb_mesh_exit_node, true, BIT(OPT_NAT_INTERFACE),
          "MESH offer|withdraw|use MEMBER|none", "Offer this host as exit node, or route through one" },
        { NULL, "monitor", 0, 0, verb_monitor, false, 0, "", "Print signals and property changes as they happen" },
        { NULL, "version", 0, 0, verb_version, false, 0, "", "Show client and daemon versions" },
        { NULL, "help", 0, 0, verb_help, false, 0, "", "Show this help" },
};

static void print_help(void) {
        printf("wgnetctl [OPTIONS...] COMMAND ...\n\n"
               "Manage WireGuard networks and peers of wgnetd.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                char left[96];
                snprintf(left, sizeof(left), "%s%s%s %s", verbs[i].group ? verbs[i].group : "",
                         verbs[i].group ? " " : "", verbs[i].name, verbs[i].args);
                printf("  %-44s %s\n", left, verbs[i].help);
        }
        printf("\nNETWORK is a name, an interface or an object path; PEER is a name, a public key\n"
               "or an object path (then NETWORK may be left out).\n\n"
               "Options:\n"
               "  -h --help                Show this help\n"
               "     --version             Show the version\n"
               "     --json=pretty|short   JSON output\n"
               "     --no-legend           No table headers and footers\n"
               "     --no-pager            Accepted; wgnetctl does not page\n"
               "     --no-ask-password     Do not ask for a password (polkit)\n"
               "     --show-keys           Show public keys in tables\n"
               "  -q --quiet               Fewer messages\n\n"
               "Network options (create, set, import):\n"
               "  -a --address=CIDR        Server address and subnet (repeat for IPv4 and IPv6)\n"
               "     --port=PORT           Listen port\n"
               "     --endpoint=HOST:PORT  Public endpoint written into client configs\n"
               "     --dns=IP              DNS servers for clients (repeat; --dns= clears)\n"
               "     --mtu=BYTES           MTU (0 = default)\n"
               "     --mode=MODE           hub, gateway, split or site-to-site\n"
               "     --route=CIDR          Extra route for split mode (repeat; --route= clears)\n"
               "     --isolation=BOOL      Peers cannot reach each other\n"
               "     --nat-interface=IF    Masquerade on this egress interface\n"
               "     --online-threshold=S  Seconds since the last handshake to count as online\n"
               "     --key-policy=POLICY   stored or one-time (create only)\n"
               "     --interface=IF        Interface name if not the network name (create, import)\n"
               "     --inactive            Create without bringing the interface up\n\n"
               "Peer options (add, set):\n"
               "  -a --address=auto|IP     Peer address (repeat; default auto)\n"
               "     --keepalive=S|off     Persistent keepalive (default 25)\n"
               "     --psk / --no-psk      With or without a preshared key (default with);\n"
               "                           rotate --psk: replace only the preshared key\n"
               "     --public-key=KEY      Use the peer's own key pair (the daemon never sees its private key)\n"
               "     --role=ROLE           client or site-gateway\n"
               "     --site=CIDR           Network behind a site gateway (repeat; also --allowed-ip)\n"
               "     --email=ADDR          Contact address\n"
               "     --expires=TIME        never, +30d, +12h, YYYY-MM-DD[ HH:MM[:SS]], @EPOCH\n"
               "     --name=NAME           New name (set)\n"
               "     --rotate-every=TIME   Automatic key rotation (30d, 12h, off; also networks)\n"
               "     --rotation-kind=KIND  psk or keypair (peers: default = the network's)\n"
               "     --grace-period=TIME   How long the old key pair works after a rotation\n"
               "     --revoke-after=TIME   Disable peers without a handshake for that long\n"
               "     --disabled            Add the peer disabled\n"
               "  -o --output=FILE         Write the config to FILE (0600; --force overwrites)\n"
               "     --qr / --no-qr        QR code after 'peer add' (default: on a terminal)\n"
               "     --png=FILE --svg=FILE QR code image (peer qr)\n\n"
               "Tunnel options (create, set, import):\n"
               "     --local-network=CIDR  Network behind this host (repeat; --local-network= clears)\n"
               "     --remote-network=CIDR Network behind the other host (create, set)\n"
               "     --endpoint=IP:PORT    This host's address as the other host reaches it\n"
               "     --remote-endpoint=HOST:PORT  Tunnels: the other host's address (create, set);\n"
               "                           peers: where the device sends to first (add, set; '' = none)\n"
               "     --public-key=KEY      The other host's public key (instead of pairing)\n"
               "     --tunnel-address=CIDR Point-to-point address, e.g. 10.255.0.1/31 (create, set)\n"
               "     --port=PORT --interface=IF --keepalive=S|off --online-threshold=S --inactive\n"
               "     --pairing-lifetime=S  How long a pairing string stays valid (default 900)\n"
               "     --name=NAME           Name of the tunnel created by import\n\n"
               "See wgnetctl(1).\n");
}

static int verb_help(sd_bus *bus, int argc, char **argv) {
        print_help();
        return 0;
}

static int parse_argv(int argc, char **argv) {
        int c, r;
        uint64_t v;

        while ((c = getopt_long(argc, argv, "hqa:o:", long_options, NULL)) >= 0) {
                if (c >= OPT_ADDRESS && c < _OPT_VERB_MAX)
                        arg.given |= BIT(c);
                switch (c) {
                case 'h':
                        print_help();
                        return 0;
                case OPT_VERSION:
                        printf("wgnetctl %s\n", WGNET_VERSION);
                        return 0;
                case 'q':
                        arg.quiet = true;
                        break;
                case OPT_JSON:
                        output.json = true;
                        if (!optarg || streq(optarg, "pretty"))
                                output.json_format = JSON_FORMAT_PRETTY;
                        else if (streq(optarg, "short"))
                                output.json_format = JSON_FORMAT_SHORT;
                        else
                                return bad_value(c, optarg, "pretty or short");
                        break;
                case OPT_NO_LEGEND:
                        output.legend = false;
                        break;
                case OPT_NO_PAGER:
                        break;
                case OPT_NO_ASK_PASSWORD:
                        arg.ask_password = false;
                        break;
                case OPT_SHOW_KEYS:
                        output.show_keys = true;
                        break;
                case 'a':
                        arg.given |= BIT(OPT_ADDRESS);
                        __attribute__((fallthrough));
                case OPT_ADDRESS:
                        if (list_option(&arg.addresses, optarg) < 0)
                                return oom();
                        break;
                case OPT_DNS:
                        if (list_option(&arg.dns, optarg) < 0)
                                return oom();
                        break;
                case OPT_ROUTE:
                        if (list_option(&arg.routes, optarg) < 0)
                                return oom();
                        break;
                case OPT_SITE:
                        if (list_option(&arg.sites, optarg) < 0)
                                return oom();
                        break;
                case OPT_ENDPOINT:
                        arg.endpoint = optarg;
                        break;
                case OPT_LOCAL_NETWORK:
                        if (list_option(&arg.local_networks, optarg) < 0)
                                return oom();
                        break;
                case OPT_REMOTE_NETWORK:
                        if (list_option(&arg.remote_networks, optarg) < 0)
                                return oom();
                        break;
                case OPT_TUNNEL_ADDRESS:
                        if (list_option(&arg.tunnel_addresses, optarg) < 0)
                                return oom();
                        break;
                case OPT_REMOTE_ENDPOINT:
                        arg.remote_endpoint = optarg;
                        break;
                case OPT_PAIRING_LIFETIME:
                        if (parse_unsigned(optarg, 1, 7 * 86400, &v) < 0)
                                return bad_value(c, optarg, "seconds, 1 to 604800");
                        arg.pairing_lifetime = (uint32_t) v;
                        break;
                case OPT_PORT:
                        if (parse_unsigned(optarg, 1, 65535, &v) < 0)
                                return bad_value(c, optarg, "a port number 1-65535");
                        arg.port = (uint16_t) v;
                        break;
                case OPT_MTU:
                        if (parse_unsigned(optarg, 0, 65535, &v) < 0)
                                return bad_value(c, optarg, "a number of bytes, 1280-9000, or 0 for the default");
                        arg.mtu = (uint32_t) v;
                        break;
                case OPT_MODE:
                        arg.mode = optarg;
                        break;
                case OPT_ISOLATION:
                        r = parse_bool(optarg);
                        if (r < 0)
                                return bad_value(c, optarg, "yes or no");
                        arg.isolation = r;
                        break;
                case OPT_NAT_INTERFACE:
                        arg.nat_interface = optarg;
                        break;
                case OPT_KEY_POLICY:
                        if (!streq(optarg, "stored") && !streq(optarg, "one-time"))
                                return bad_value(c, optarg, "stored or one-time");
                        arg.key_policy = optarg;
                        break;
                case OPT_ONLINE_THRESHOLD:
                        if (parse_unsigned(optarg, 1, UINT32_MAX, &v) < 0)
                                return bad_value(c, optarg, "a number of seconds");
                        arg.online_threshold = (uint32_t) v;
                        break;
                case OPT_INTERFACE:
                        arg.interface = optarg;
                        break;
                case OPT_INACTIVE:
                case OPT_DISABLED:
                case OPT_FORCE:
                case OPT_QR:
                case OPT_NO_QR:
                        break;
                case OPT_KEEPALIVE:
                        if (parse_keepalive(optarg, &arg.keepalive) < 0)
                                return bad_value(c, optarg, "seconds 0-65535 or off");
                        break;
                case OPT_PSK:
                        arg.psk = true;
                        break;
                case OPT_NO_PSK:
                        arg.psk = false;
                        break;
                case OPT_PUBLIC_KEY:
                        arg.public_key = optarg;
                        break;
                case OPT_ROLE:
                        if (!streq(optarg, "client") && !streq(optarg, "site-gateway"))
                                return bad_value(c, optarg, "client or site-gateway");
                        arg.role = optarg;
                        break;
                case OPT_EMAIL:
                        arg.email = optarg;
                        break;
                case OPT_NAME:
                        arg.name = optarg;
                        break;
                case OPT_EXPIRES:
                        if (parse_expiry(optarg, now_realtime_usec(), &arg.expires) < 0)
                                return bad_value(c, optarg, "never, +30d, +12h, YYYY-MM-DD[ HH:MM[:SS]] or @EPOCH");
                        break;
                case OPT_ROTATE_EVERY:
                case OPT_REVOKE_AFTER:
                case OPT_GRACE_PERIOD:
                        if (parse_duration(optarg, c == OPT_ROTATE_EVERY ? &arg.rotate_every :
                                           c == OPT_REVOKE_AFTER ? &arg.revoke_after : &arg.grace_period) < 0)
                                return bad_value(c, optarg, "a duration such as 30d, 12h, 90min, 3600 (seconds) or off");
                        break;
                case OPT_ROTATION_KIND:
                        if (!streq(optarg, "psk") && !streq(optarg, "keypair") && !streq(optarg, "default"))
                                return bad_value(c, optarg, "psk, keypair or default (the network's, for peers)");
                        arg.rotation_kind = streq(optarg, "default") ? "" : optarg;
                        break;
                case 'o':
                        arg.given |= BIT(OPT_OUTPUT);
                        __attribute__((fallthrough));
                case OPT_OUTPUT:
                        arg.output = optarg;
                        break;
                case OPT_PNG:
                        arg.png = optarg;
                        break;
                case OPT_SVG:
                        arg.svg = optarg;
                        break;
                case '?':
                        return -EXIT_USAGE;
                default:
                        return usage_error("Unhandled option");
                }
        }
        if (GIVEN(OPT_PSK) && GIVEN(OPT_NO_PSK))
                return usage_error("Give either --psk or --no-psk, not both");
        if (GIVEN(OPT_QR) && GIVEN(OPT_NO_QR))
                return usage_error("Give either --qr or --no-qr, not both");
        return 1;
}

static const Verb *find_verb(int argc, char **argv, int *ret_consumed) {
        const char *group = argc > 0 ? argv[0] : "status";

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (!verbs[i].group && streq(verbs[i].name, group)) {
                        *ret_consumed = argc > 0;
                        return &verbs[i];
                }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (!streq_ptr(verbs[i].group, group))
                        continue;
                const char *name = argc > 1 ? argv[1] : "list";
                for (size_t k = i; k < ELEMENTSOF(verbs); k++)
                        if (streq_ptr(verbs[k].group, group) && streq(verbs[k].name, name)) {
                                *ret_consumed = argc > 1 ? 2 : 1;
                                return &verbs[k];
                        }
                return NULL;
        }
        return NULL;
}

static sd_bus *connect_bus(void) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "wgnetctl: Cannot connect to the system bus: %s\n", strerror(-r));
                return NULL;
        }
        (void) sd_bus_set_allow_interactive_authorization(bus, arg.ask_password && isatty(STDIN_FILENO));
        return bus;
}

static int run(int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb;
        int consumed = 0, r;

        output_init();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? -r : 0;
        argc -= optind;
        argv += optind;

        verb = find_verb(argc, argv, &consumed);
        if (!verb) {
                if (argc > 1 && (streq(argv[0], "network") || streq(argv[0], "peer") || streq(argv[0], "tunnel")))
                        usage_error("Unknown command '%s %s' (see wgnetctl --help)", argv[0], argv[1]);
                else
                        usage_error("Unknown command '%s' (see wgnetctl --help)", argv[0]);
                return EXIT_USAGE;
        }
        argc -= consumed;
        argv += consumed;

        char full[64];
        snprintf(full, sizeof(full), "%s%s%s", verb->group ? verb->group : "", verb->group ? " " : "", verb->name);
        if ((unsigned) argc < verb->min_args) {
                /* Name the first missing argument from the usage words. */
                char words[96], *save = NULL, *w = NULL;
                snprintf(words, sizeof(words), "%s", verb->args);
                w = strtok_r(words, " ", &save);
                for (int i = 0; w && i < argc; i++)
                        w = strtok_r(NULL, " ", &save);
                usage_error("'%s' is missing %s (usage: wgnetctl %s %s)", full, w ? w : "an argument", full, verb->args);
                return EXIT_USAGE;
        }
        if ((unsigned) argc > verb->max_args) {
                usage_error("Unexpected argument '%s': '%s' takes at most %u (usage: wgnetctl %s%s%s)", argv[verb->max_args],
                            full, verb->max_args, full, *verb->args ? " " : "", verb->args);
                return EXIT_USAGE;
        }
        uint64_t bad = arg.given & ~verb->options;
        if (bad) {
                for (int o = OPT_ADDRESS; o < _OPT_VERB_MAX; o++)
                        if (bad & BIT(o)) {
                                usage_error("Option --%s does not apply to '%s'", option_name(o), full);
                                break;
                        }
                return EXIT_USAGE;
        }
        if (verb->fn == verb_help)
                return verb_help(NULL, argc, argv);

        bus = connect_bus();
        if (!bus)
                return 1;
        if (verb->auth && arg.ask_password)
                (void) polkit_agent_open();
        r = verb->fn(bus, argc, argv);
        polkit_agent_close();
        return r < 0 ? -r : r;
}

int main(int argc, char **argv) {
        int r = run(argc, argv);
        strv_free(arg.addresses);
        strv_free(arg.dns);
        strv_free(arg.routes);
        strv_free(arg.sites);
        strv_free(arg.local_networks);
        strv_free(arg.remote_networks);
        strv_free(arg.tunnel_addresses);
        return r;
}
