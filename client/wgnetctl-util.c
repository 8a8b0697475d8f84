/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl's shared helpers: errors, finding networks and peers, the a{sv} options of
 * the calls, calling, and files that hold secrets. */
#include "wgnetctl.h"

int usage_error(const char *fmt, ...) {
        va_list ap;
        fputs("wgnetctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\n", stderr);
        return -EXIT_USAGE;
}

int fail(const char *fmt, ...) {
        va_list ap;
        fputs("wgnetctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\n", stderr);
        return 1;
}

int oom(void) {
        return fail("Out of memory");
}

int bad_value(int opt, const char *value, const char *expected) {
        return usage_error("Invalid value '%s' for --%s: expected %s", value, option_name(opt), expected);
}

/* A method call that could not be built. sd-bus refuses a string that is not UTF-8 with
 * -EINVAL: that is the user's text (the arguments and input files are checked before
 * connecting, so it should not happen), not a lack of memory. */
int append_failed(int r) {
        if (r == -ENOMEM)
                return oom();
        if (r == -EINVAL)
                return usage_error("Cannot build the call: a value is not valid UTF-8 or not a valid D-Bus string");
        return fail("Cannot build the call: %s", strerror(-r));
}

/* D-Bus carries UTF-8 only: an option value that is not is a usage error (exit 2), named
 * with its bad bytes shown as \xNN. */
int check_utf8_option(int opt, const char *value) {
        const char *bad = utf8_invalid(value);
        if (!bad)
                return 0;
        _cleanup_(freep) char *shown = escape_nonprintable(value, false, false);
        return usage_error("Invalid value '%s' for --%s: not valid UTF-8 (byte %zu); wgnetd takes UTF-8 text only "
                           "(convert it, e.g. with iconv -t UTF-8)", shown ? shown : "?", option_name(opt),
                           (size_t) (bad - value) + 1);
}

/* The same for the word-th argument of verb full; a secret one (a pairing string, an
 * invitation) is named, not shown. */
int check_utf8_argument(const char *full, const char *word, const char *value) {
        const char *bad = utf8_invalid(value);
        if (!bad)
                return 0;
        bool secret = word && ((strncmp(word, "PAIRING", 7) == 0 || strncmp(word, "INVITATION", 10) == 0));
        _cleanup_(freep) char *shown = secret ? NULL : escape_nonprintable(value, false, false);
        return usage_error("Argument %s%s%s%s of '%s' is not valid UTF-8 (byte %zu); wgnetd takes UTF-8 text only "
                           "(convert it, e.g. with iconv -t UTF-8)", word ? word : "", shown ? " ('" : "",
                           shown ? shown : "", shown ? "')" : "", full, (size_t) (bad - value) + 1);
}

/* Load the objects or say why not. */
int load(sd_bus *bus, Objects *o) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = objects_load(bus, o, &error);
        if (r < 0)
                return report_bus_error(&error, r, NULL, NULL, "Cannot list the networks and peers of wgnetd");
        return 0;
}

int find_network(Objects *o, const char *name, NetworkInfo **ret) {
        NetworkInfo *n = objects_find_network(o, name);
        if (!n)
                return fail("No network '%s' (give its name, interface or object path; see 'wgnetctl network list')", name);
        *ret = n;
        return 0;
}

/* Peer arguments: NETWORK PEER, or one peer object path. */
int find_peer(Objects *o, int argc, char **argv, NetworkInfo **ret_net, PeerInfo **ret_peer) {
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

/* Load the objects, find the peer (argv as find_peer() takes it), start a call of member
 * on it. */
int new_peer_call(sd_bus *bus, Objects *o, int argc, char **argv, NetworkInfo **ret_net, PeerInfo **ret_peer,
                  sd_bus_message **ret, const char *member) {
        int r = load(bus, o);
        if (r == 0)
                r = find_peer(o, argc, argv, ret_net, ret_peer);
        if (r == 0)
                r = new_call(bus, ret, (*ret_peer)->path, WGNET_PEER_INTERFACE, member);
        return r;
}

/* The same for the network named name. */
int new_network_call(sd_bus *bus, Objects *o, const char *name, NetworkInfo **ret_net, sd_bus_message **ret,
                     const char *member) {
        int r = load(bus, o);
        if (r == 0)
                r = find_network(o, name, ret_net);
        if (r == 0)
                r = new_call(bus, ret, (*ret_net)->path, WGNET_NETWORK_INTERFACE, member);
        return r;
}

/* --- a{sv} options -------------------------------------------------------------------- */

int append_strv_option(sd_bus_message *m, const char *key, char **l) {
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

/* Rotation and revocation policy: the same option names for networks and peers. */
int append_policy_options(sd_bus_message *m) {
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

int append_network_options(sd_bus_message *m, bool creating) {
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
        if (r >= 0 && GIVEN(OPT_PEER_ROUTES))
                r = sd_bus_message_append(m, "{sv}", "PeerRoutes", "b", (int) arg.peer_routes);
        if (r >= 0 && GIVEN(OPT_DEFAULT_ROUTE))
                r = sd_bus_message_append(m, "{sv}", "DefaultRoute", "b", (int) arg.default_route);
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

int append_peer_options(sd_bus_message *m, bool adding) {
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
int call(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply, const char *context_fmt, ...) {
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

int new_call(sd_bus *bus, sd_bus_message **ret, const char *path, const char *interface, const char *member) {
        int r = sd_bus_message_new_method_call(bus, ret, WGNET_BUS_NAME, path, interface, member);
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(*ret, arg.ask_password && isatty(STDIN_FILENO));
        return r < 0 ? oom() : 0;
}

/* --- files and secrets ---------------------------------------------------------------- */

/* The file that -o, --png or --svg names (NULL: none, or "-" for stdout). */
const char *output_path(void) {
        if (GIVEN(OPT_PNG))
                return arg.png;
        if (GIVEN(OPT_SVG))
                return arg.svg;
        if (GIVEN(OPT_OUTPUT))
                return arg.output;
        return NULL;
}

/* The output file, made ready before the call whose reply goes into it. */
static OutputFile out_file = OUTPUT_FILE_INIT;
static const char *volatile tmp_on_signal;

static void remove_tmp_and_die(int sig) {
        const char *tmp = tmp_on_signal;
        if (tmp)
                (void) unlink(tmp);
        signal(sig, SIG_DFL);
        raise(sig);
}

/* Create the new file next to the output file (mode 0600) and check that the name is free
 * unless --force: a secret that the daemon hands out once (AddPeer in a one-time network)
 * is asked for only when it has somewhere to go. Nothing to do for stdout. */
int output_prepare(void) {
        const char *path = output_path();
        int r;

        if (!path || streq(path, "-"))
                return 0;
        r = output_file_prepare(&out_file, path, GIVEN(OPT_FORCE));
        if (r == -EEXIST)
                return fail("Cannot write '%s': the file exists (use --force to overwrite it)", path);
        if (r == -EISDIR)
                return fail("Cannot write '%s': it is a directory", path);
        if (r < 0)
                return fail("Cannot write '%s': %s", path, strerror(-r));
        /* Interrupted at a password prompt: leave no empty file behind. */
        tmp_on_signal = out_file.tmp;
        struct sigaction sa = { .sa_handler = remove_tmp_and_die };
        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGHUP, &sa, NULL);
        return 0;
}

bool output_is_file(void) {
        return out_file.path != NULL;
}

void output_done(void) {
        tmp_on_signal = NULL;
        output_file_done(&out_file);
}

/* data into the prepared output file (it appears whole or not at all), or to stdout. */
int output_write(const void *data, size_t size) {
        const char *step = "write";
        int r;

        if (!out_file.path) {
                if (fwrite(data, 1, size, stdout) != size || fflush(stdout) != 0)
                        return fail("Cannot write to stdout: %s", strerror(errno ? errno : EIO));
                return 0;
        }
        r = output_file_commit(&out_file, data, size, &step);
        if (r == -EEXIST)
                return fail("Cannot write '%s': a file of that name appeared meanwhile (use --force to overwrite it)",
                            out_file.path);
        if (r < 0)
                return fail("Cannot write '%s' (%s %s): %s", out_file.path, step, out_file.tmp, strerror(-r));
        tmp_on_signal = NULL;
        return 0;
}

void wipe_free(char *s) {
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

void wipe_freep(char **s) {
        wipe_free(*s);
}

/* The terminal QR code of a config, rendered here (lib/qr.c): the same text the daemon
 * would encode, without a second round trip or a second polkit check. */
int read_secret_arg(const char *a, char **ret) {
        if (streq(a, "-"))
                return read_file_text("-", ret);
        *ret = strdup(a);
        return *ret ? 0 : oom();
}

/* The input of network import (argv[1]), tunnel import and mesh join (argv[0]): read as
 * a usage check, before connecting, so that a file that cannot be read or is not UTF-8
 * exits before a call (or a password prompt). The verb takes it from arg.input. */
int check_input_file(int argc, char **argv) {
        return read_file_text(argv[1], &arg.input);
}

int check_input_secret(int argc, char **argv) {
        return read_secret_arg(argv[0], &arg.input);
}

int write_output(const char *text, const char *what_fmt, ...) {
        int r = output_write(text, strlen(text));
        if (r == 0 && output_is_file() && !arg.quiet) {
                char what[512];
                va_list ap;
                va_start(ap, what_fmt);
                vsnprintf(what, sizeof(what), what_fmt, ap);
                va_end(ap);
                fprintf(stderr, "Wrote %s to %s (mode 0600).\n", what, output_path());
        }
        return r;
}

int config_qr_utf8(const char *config, const char *what, char **ret) {
        int r = qr_render_utf8(config, QR_EC_M, ret);
        if (r == -EMSGSIZE)
                return fail("Cannot draw the QR code of peer %s: the config is too long for a QR code", what);
        if (r < 0)
                return fail("Cannot draw the QR code of peer %s: %s", what, strerror(-r));
        return 0;
}
