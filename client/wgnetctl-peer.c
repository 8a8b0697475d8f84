/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl: the peer verbs. */
#include "wgnetctl.h"

int verb_peer_list(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(table_freep) Table *t = NULL;
        NetworkInfo *n = NULL;
        int r;

        r = load(bus, &o);
        if (r == 0 && argc > 0)
                r = find_network(&o, argv[0], &n);
        if (r != 0)
                return r;
        /* what cannot be read is said and left as it was; a network gone meanwhile is left
         * out (peer_table() skips its peers); exit 1 only for one named that is gone */
        bool gone = false;
        for (size_t i = 0; i < o.n_networks; i++)
                if ((!n || n == &o.networks[i]) && refresh_stats(bus, &o, &o.networks[i], NULL) > 0)
                        gone = true;
        r = peer_table(&o, n, !n, &t);
        if (r != 0)
                return r;
        if (table_print(t) < 0)
                return fail("Cannot print the table");
        if (!output.json && output.legend)
                printf("\n%zu peer%s listed.\n", table_rows(t), table_rows(t) == 1 ? "" : "s");
        return n && gone ? 1 : 0;
}

int verb_peer_show(sd_bus *bus, int argc, char **argv) {
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
        if (n && refresh_stats(bus, &o, n, p) > 0)
                return fail("No peer '%s': its network was deleted meanwhile", p->name);
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

/* Peer arguments: NETWORK PEER, or one peer object path (find_peer() takes them). */
int check_peer_args(int argc, char **argv) {
        if (argc == 1 && !object_path_under(argv[0], WGNET_PEER_PREFIX))
                return usage_error("Missing peer: give NETWORK PEER, or the peer's object path ('%s' is not one)",
                                   argv[0]);
        return 0;
}

static bool config_has_private_key(const char *text) {
        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, "PrivateKey", 10) == 0)
                        return true;
        return false;
}

/* A config that could not be written to its file: it may exist nowhere else (a one-time
 * key), so it goes to stdout instead of being dropped. */
static void warn_config_on_stdout(const char *what) {
        fprintf(stderr, "wgnetctl: %sWarning:%s printing %s on standard output instead; save it now.\n",
                isatty(STDERR_FILENO) ? ANSI_YELLOW : "", isatty(STDERR_FILENO) ? ANSI_NORMAL : "", what);
}

/* A new config in JSON: with -o FILE written there, and the JSON says where ("ConfigFile")
 * instead of carrying the secret ("Config"); else (or if the file failed) "Config". */
static int print_config_json(Json *j, const char *config, const char *what) {
        int r = 0;
        if (output_is_file()) {
                r = output_write(config, strlen(config));
                if (r == 0 && json_object_add(j, "ConfigFile", json_new_string(output_path())) < 0)
                        return oom();
                if (r != 0)
                        warn_config_on_stdout(what);
        }
        if (!output_is_file() || r != 0) {
                if (json_object_add(j, "Config", json_new_string(config)) < 0)
                        return oom();
        }
        json_print(stdout, j, output.json_format);
        return r;
}

/* A new config as text: into the output file (0600) or to stdout. */
static int print_config(const char *config, const char *what) {
        int r = 0;
        if (output_is_file()) {
                r = write_output(config, "%s", what);
                if (r == 0)
                        return 0;
                warn_config_on_stdout(what);
        }
        fputs(config, stdout);
        if (!*config || config[strlen(config) - 1] != '\n')
                fputc('\n', stdout);
        return r;
}

/* The QR code of a new config on the terminal: with --qr, or by default when stdout is a
 * terminal and the config did not go into a file (-o keeps the private key off the
 * screen). */
static void print_config_qr(const char *config, const char *peer, const char *network) {
        if (GIVEN(OPT_NO_QR) || (!GIVEN(OPT_QR) && (!isatty(STDOUT_FILENO) || output_is_file())))
                return;
        _cleanup_(wipe_freep) char *qr = NULL;
        /* The config is out already and the peer made: no QR code is worth a warning only. */
        int r = qr_render_utf8(config, QR_EC_M, &qr);
        if (r < 0) {
                fprintf(stderr, "wgnetctl: %sWarning:%s no QR code of the config of peer '%s' of network '%s': %s.\n",
                        isatty(STDERR_FILENO) ? ANSI_YELLOW : "", isatty(STDERR_FILENO) ? ANSI_NORMAL : "", peer, network,
                        r == -EMSGSIZE ? "the config is too long for a QR code" : strerror(-r));
                return;
        }
        fputs(qr, stdout);
}

int check_peer_add(int argc, char **argv) {
        if (GIVEN(OPT_PUBLIC_KEY) && strlen(arg.public_key) != 44)
                return usage_error("Invalid value '%s' for --public-key: expected 44 characters of base64 (wg pubkey)",
                                   arg.public_key);
        return 0;
}

int verb_peer_add(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path, *config;
        NetworkInfo *n = NULL;
        int r;

        r = new_network_call(bus, &o, argv[0], &n, &m, "AddPeer");
        if (r != 0)
                return r;
        r = sd_bus_message_append(m, "s", argv[1]);
        if (r >= 0)
                r = append_peer_options(m, true);
        if (r < 0)
                return append_failed(r);
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
                    json_object_add(j, "PrivateKeyStored", json_new_bool(generated && !one_time)) < 0)
                        return oom();
                return print_config_json(j, config, "the config");
        }

        if (!arg.quiet)
                fprintf(stderr, "Added peer '%s' to network '%s' (%s).\n", argv[1], n->name, path);
        /* The peer exists now: a config that missed its file is printed, and the rest said. */
        int ret = print_config(config, "the config");

        if (!generated) {
                if (!arg.quiet)
                        fprintf(stderr, "The peer uses its own key pair: put its private key into the config.\n");
                return ret;
        }
        if (one_time)
                fprintf(stderr, "%sThis is the only time this private key is shown:%s network '%s' does not store "
                        "private keys (key policy one-time). Save the config now.\n",
                        isatty(STDERR_FILENO) ? ANSI_YELLOW : "", isatty(STDERR_FILENO) ? ANSI_NORMAL : "", n->name);

        print_config_qr(config, argv[1], n->name);
        return ret;
}

int verb_peer_rotate(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *what = GIVEN(OPT_PSK) ? "psk" : "keypair", *config;
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        uint64_t deadline = 0;
        int r;

        r = new_peer_call(bus, &o, argc, argv, &n, &p, &m, "RotateKeys");
        if (r != 0)
                return r;
        r = sd_bus_message_append(m, "s", what);
        if (r < 0)
                return append_failed(r);
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
                    json_object_add(j, "RotationDeadline", json_new_unsigned(deadline)) < 0)
                        return oom();
                return print_config_json(j, config, "the new config");
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
        int ret = print_config(config, "the new config");
        if (!config_has_private_key(config))
                return ret;
        print_config_qr(config, p->name, n ? n->name : "?");
        return ret;
}

static int peer_simple(sd_bus *bus, int argc, char **argv, const char *member, const char *what, const char *done) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        int r;

        r = new_peer_call(bus, &o, argc, argv, &n, &p, &m, member);
        if (r != 0)
                return r;
        r = call(bus, m, NULL, "Cannot %s peer '%s' of network '%s'", what, p->name, n ? n->name : "?");
        if (r == 0 && !arg.quiet && !output.json)
                printf("Peer '%s' of network '%s' %s.\n", p->name, n ? n->name : "?", done);
        return r;
}

int verb_peer_remove(sd_bus *bus, int argc, char **argv) {
        return peer_simple(bus, argc, argv, "Remove", "remove", "removed");
}

int verb_peer_enable(sd_bus *bus, int argc, char **argv) {
        return peer_simple(bus, argc, argv, "Enable", "enable", "enabled");
}

int verb_peer_disable(sd_bus *bus, int argc, char **argv) {
        return peer_simple(bus, argc, argv, "Disable", "disable", "disabled");
}

int check_peer_set(int argc, char **argv) {
        int r = check_settings_given("peer set", PEER_SETTINGS | BIT(OPT_NAME));
        return r != 0 ? r : check_peer_args(argc, argv);
}

int verb_peer_set(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        int r;

        r = new_peer_call(bus, &o, argc, argv, &n, &p, &m, "Update");
        if (r != 0)
                return r;
        r = append_peer_options(m, false);
        if (r < 0)
                return append_failed(r);
        r = call(bus, m, NULL, "Cannot change peer '%s' of network '%s'", p->name, n ? n->name : "?");
        if (r == 0 && !arg.quiet && !output.json)
                printf("Peer '%s' of network '%s' updated.\n", GIVEN(OPT_NAME) ? arg.name : p->name, n ? n->name : "?");
        return r;
}

int verb_peer_config(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *text;
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        int r;

        r = new_peer_call(bus, &o, argc, argv, &n, &p, &m, "GetConfig");
        if (r != 0)
                return r;
        r = call(bus, m, &reply, "Cannot get the config of peer '%s' of network '%s'", p->name, n ? n->name : "?");
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_read(reply, "s", &text) < 0)
                return fail("Cannot read the config of peer '%s': bad reply", p->name);
        return write_output(text, "the config of peer '%s'", p->name);
}

int check_peer_qr(int argc, char **argv) {
        if (GIVEN(OPT_PNG) && GIVEN(OPT_SVG))
                return usage_error("Give either --png or --svg, not both");
        if ((GIVEN(OPT_PNG) || GIVEN(OPT_SVG)) && streq(output_path(), "-") && isatty(STDOUT_FILENO))
                return usage_error("Not writing a %s image to a terminal: give --%s=FILE", GIVEN(OPT_PNG) ? "png" : "svg",
                                   GIVEN(OPT_PNG) ? "png" : "svg");
        return check_peer_args(argc, argv);
}

int verb_peer_qr(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *format = "utf8";
        const void *data;
        size_t size;
        NetworkInfo *n = NULL;
        PeerInfo *p = NULL;
        int r;

        if (GIVEN(OPT_PNG))
                format = "png";
        else if (GIVEN(OPT_SVG))
                format = "svg";
        r = load(bus, &o);
        if (r == 0)
                r = find_peer(&o, argc, argv, &n, &p);
        if (r != 0)
                return r;
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
                return output_write(qr, strlen(qr));
        }
        r = new_call(bus, &m, p->path, WGNET_PEER_INTERFACE, "GetQRCode");
        if (r != 0)
                return r;
        r = sd_bus_message_append(m, "s", format);
        if (r < 0)
                return append_failed(r);
        r = call(bus, m, &reply, "Cannot get the QR code of peer '%s' of network '%s'", p->name, n ? n->name : "?");
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_read_array(reply, 'y', &data, &size) < 0)
                return fail("Cannot read the QR code of peer '%s': bad reply", p->name);
        r = output_write(data, size);
        if (r == 0 && output_is_file() && !arg.quiet)
                fprintf(stderr, "Wrote the QR code (%s) of peer '%s' to %s (mode 0600).\n", format, p->name,
                        output_path());
        return r;
}
