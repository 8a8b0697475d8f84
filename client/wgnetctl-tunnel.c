/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl: the node-to-node tunnel verbs. */
#include "wgnetctl.h"

/* --- verbs: tunnels --------------------------------------------------------------------- */

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

int verb_tunnel_list(sd_bus *bus, int argc, char **argv) {
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

int verb_tunnel_show(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(json_freep) Json *array = NULL;
        int r = load(bus, &o);
        if (r != 0)
                return r;
        if (output.json && !(array = json_new_array()))
                return oom();
        /* every name first: nothing is shown if one is unknown */
        for (int i = 0; i < argc; i++) {
                TunnelInfo *t = NULL;
                if (find_tunnel(&o, argv[i], &t) != 0)
                        r = 1;
        }
        if (r != 0)
                return r;
        for (int i = 0; i < argc; i++) {
                _cleanup_(fields_freep) Fields *f = fields_new();
                TunnelInfo *t = objects_find_tunnel(&o, argv[i]);
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

int verb_tunnel_create(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path;
        int r;

        r = new_call(bus, &m, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "CreateTunnel");
        if (r != 0)
                return r;
        r = sd_bus_message_append(m, "s", argv[0]);
        if (r >= 0)
                r = append_tunnel_options(m, true, false);
        if (r < 0)
                return append_failed(r);
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
                                             : "Pair it: run 'wgnetctl tunnel pairing NAME' here, and 'wgnetctl tunnel import -' "
                                               "with the string on standard input on the other host.\n");
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

int verb_tunnel_pairing(sd_bus *bus, int argc, char **argv) {
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
        } else {
                printf("%s\n", s);
                if (!arg.quiet && isatty(STDOUT_FILENO))
                        fprintf(stderr, "\nOn the other host run 'wgnetctl tunnel import -' and paste it (then Ctrl-D): on\n"
                                "standard input it stays out of the process list and the shell history.\n");
        }
        return 0;
}

int verb_tunnel_import(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(wipe_freep) char *text = NULL, *answer = NULL;
        _cleanup_(objects_done) Objects o = { 0 };
        TunnelInfo *t = NULL;
        const char *path;
        int r;

        text = TAKE_PTR(arg.input);     /* read by check_input_secret() */
        r = new_call(bus, &m, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "ImportPairing");
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(m);
        r = sd_bus_message_append(m, "s", text);
        if (r >= 0)
                r = append_tunnel_options(m, false, true);
        if (r < 0)
                return append_failed(r);
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
                /* GetPairing needs read-secrets (and manage-networks), ImportPairing only
                 * manage-networks: the tunnel may exist without a reply to show */
                r = get_pairing(bus, t->path, t->name, &answer);
                if (r != 0) {
                        fprintf(stderr, "wgnetctl: Tunnel '%s' (%s) was created; 'wgnetctl tunnel pairing %s' prints "
                                "its reply for the other host.\n", t->name, t->path, t->name);
                        return r;
                }
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
                /* The reply on a line of its own, to be given on stdin: other users see
                 * arguments in /proc, and the shell keeps them in its history. */
                printf("Created tunnel '%s' (%s). Its reply:\n\n%s\n\n"
                       "Complete the tunnel on the other host: run 'wgnetctl tunnel import -' there and paste\n"
                       "the reply (then Ctrl-D). On standard input it stays out of the process list and the\n"
                       "shell history.\n",
                       t->name, t->path, answer);
        else if (!arg.quiet)
                printf("Tunnel '%s' (%s) is paired.\n", t->name, t->path);
        return 0;
}

/* A simple method without arguments on each named network or tunnel. Every name is looked
 * up first: one that is unknown stops them all, before anything changes. Then each is
 * acted on, a failure reported and the rest still done; exit 1 if any failed. */
int object_simple(sd_bus *bus, int argc, char **argv, bool tunnel, const char *member, const char *what,
                  const char *done) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(freep) const char **paths = NULL, **names = NULL;
        const char *kind = tunnel ? "tunnel" : "network";
        size_t n = 0;
        int unknown = 0, failed = 0;
        int r = load(bus, &o);
        if (r != 0)
                return r;
        paths = calloc(argc, sizeof(char *));
        names = calloc(argc, sizeof(char *));
        if (!paths || !names)
                return oom();
        for (int i = 0; i < argc; i++) {
                const char *path, *name;
                if (tunnel) {
                        TunnelInfo *t = NULL;
                        if (find_tunnel(&o, argv[i], &t) != 0) {
                                unknown++;
                                continue;
                        }
                        path = t->path;
                        name = t->name;
                } else {
                        NetworkInfo *nw = NULL;
                        if (find_network(&o, argv[i], &nw) != 0) {
                                unknown++;
                                continue;
                        }
                        path = nw->path;
                        name = nw->name;
                }
                bool seen = false;      /* the same one named twice (name and interface) */
                for (size_t k = 0; k < n; k++)
                        seen = seen || streq(paths[k], path);
                if (seen)
                        continue;
                paths[n] = path;
                names[n] = name;
                n++;
        }
        if (unknown > 0) {
                if (argc > 1)
                        fail("Nothing %s: %d of the %d %ss named %s unknown", done, unknown, argc, kind,
                             unknown == 1 ? "is" : "are");
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                r = new_call(bus, &m, paths[i], tunnel ? WGNET_TUNNEL_INTERFACE : WGNET_NETWORK_INTERFACE, member);
                if (r != 0)
                        return r;
                if (call(bus, m, NULL, "Cannot %s %s '%s'", what, kind, names[i]) != 0) {
                        failed = 1;
                        continue;
                }
                if (!arg.quiet && !output.json)
                        printf("%s '%s' %s.\n", tunnel ? "Tunnel" : "Network", names[i], done);
        }
        return failed;
}

int verb_tunnel_delete(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, true, "Delete", "delete", "deleted");
}

int verb_tunnel_up(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, true, "Activate", "activate", "activated");
}

int verb_tunnel_down(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, true, "Deactivate", "deactivate", "deactivated");
}

int check_tunnel_set(int argc, char **argv) {
        return check_settings_given("tunnel set", TUNNEL_SETTINGS);
}

int verb_tunnel_set(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        TunnelInfo *t = NULL;
        int r = load(bus, &o);
        if (r == 0)
                r = find_tunnel(&o, argv[0], &t);
        if (r == 0)
                r = new_call(bus, &m, t->path, WGNET_TUNNEL_INTERFACE, "Update");
        if (r != 0)
                return r;
        r = append_tunnel_options(m, false, false);
        if (r < 0)
                return append_failed(r);
        r = call(bus, m, NULL, "Cannot change tunnel '%s'", t->name);
        if (r == 0 && !arg.quiet && !output.json)
                printf("Tunnel '%s' updated.\n", t->name);
        return r;
}
