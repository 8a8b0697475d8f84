/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl: the network verbs and status. */
#include "wgnetctl.h"

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

int verb_network_list(sd_bus *bus, int argc, char **argv) {
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

/* Statistics that cannot be read do not stop a listing (as systemctl status shows what it
 * has): a warning, the properties as the daemon's last tick left them, exit 0. A network
 * deleted since the objects were loaded is marked gone (its peers are left out too).
 * Returns 0, or 1 when the network is gone. */
int refresh_stats(sd_bus *bus, Objects *o, NetworkInfo *n, PeerInfo *only) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        bool tty = isatty(STDERR_FILENO);
        if (!n->active)
                return 0;
        int r = objects_refresh_stats(bus, o, n, only, &error);
        if (r >= 0)
                return 0;
        if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_METHOD,
                                   SD_BUS_ERROR_UNKNOWN_INTERFACE)) {
                n->gone = true;
                fprintf(stderr, "wgnetctl: %sWarning:%s network '%s' is gone (deleted meanwhile); left out.\n",
                        tty ? ANSI_YELLOW : "", tty ? ANSI_NORMAL : "", n->name);
                return 1;
        }
        fprintf(stderr, "wgnetctl: %sWarning:%s cannot read the statistics of network '%s' (%s); "
                "showing those of the daemon's last tick.\n", tty ? ANSI_YELLOW : "", tty ? ANSI_NORMAL : "", n->name,
                sd_bus_error_is_set(&error) && error.message ? error.message : strerror(-r));
        return 0;
}

/* "every 30 days (keypair), grace period 1 day" or "off (grace period 1 day)". */
int format_rotation(uint64_t interval, const char *kind, uint64_t grace, char **ret) {
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
        char port[8], mtu[16], peers[48], threshold[24], revoke[FORMAT_RELATIVE_MAX], full[48];
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
        if (n->default_route)
                snprintf(full, sizeof(full), "through the tunnel (table %u)", n->route_table);
        else
                snprintf(full, sizeof(full), "no");

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
        r = r < 0 ? r : fields_add(f, "Default route", full, NULL);
        r = r < 0 ? r : fields_add(f, "Peer routes", n->peer_routes ? "yes" : "no (Table = off)", NULL);
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

        if (refresh_stats(bus, o, n, NULL) > 0)
                return 1;       /* named, but deleted meanwhile: said, and exit 1 */
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
int print_json_array(Json *array) {
        return json_print(stdout, array, output.json_format) < 0 ? fail("Cannot write the output") : 0;
}

int verb_network_show(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(json_freep) Json *array = NULL;
        int r = load(bus, &o);
        if (r != 0)
                return r;
        if (output.json && !(array = json_new_array()))
                return oom();
        /* every name first: nothing is shown if one is unknown */
        for (int i = 0; i < argc; i++) {
                NetworkInfo *n = NULL;
                if (find_network(&o, argv[i], &n) != 0)
                        r = 1;
        }
        if (r != 0)
                return r;
        bool shown = false;
        int ret = 0;
        for (int i = 0; i < argc; i++) {
                NetworkInfo *n = objects_find_network(&o, argv[i]);
                if (shown && !array)
                        printf("\n");
                r = show_network(bus, &o, n, true, array);
                if (r == 1) {
                        ret = 1;        /* gone: the others are still shown */
                        continue;
                }
                if (r != 0)
                        return r;
                shown = true;
        }
        if (array && (r = print_json_array(array)) != 0)
                return r;
        return ret;
}

int verb_status(sd_bus *bus, int argc, char **argv) {
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
        bool shown = false;
        for (size_t i = 0; i < o.n_networks; i++) {
                NetworkInfo *n = &o.networks[i];
                _cleanup_(table_freep) Table *t = NULL;
                if (refresh_stats(bus, &o, n, NULL) > 0)
                        continue;       /* deleted meanwhile: said, and left out */
                r = peer_table(&o, n, false, &t);
                if (r != 0)
                        return r;
                if (array) {
                        Json *j = network_json(n);
                        if (!j || json_object_add(j, "Peers", table_steal_json(t)) < 0 || json_array_add(array, j) < 0)
                                return oom();
                        continue;
                }
                if (shown)
                        printf("\n");
                _cleanup_(freep) char *addresses = strv_join(n->addresses, ", ");
                _cleanup_(freep) char *rest = NULL, *safe_rest = NULL, *safe_name = NULL;
                if (!addresses ||
                    asprintf(&rest, "(%s): %s, %s mode, %s, port %u, %u peer%s, %u online", n->interface,
                             n->active ? "active" : "inactive", n->mode ? n->mode : "-", *addresses ? addresses : "-",
                             n->listen_port, n->peer_count, n->peer_count == 1 ? "" : "s", n->online_peer_count) < 0)
                        return oom();
                /* the daemon's strings: shown, not sent to the terminal */
                safe_name = escape_nonprintable(n->name, output.utf8, false);
                safe_rest = escape_nonprintable(rest, output.utf8, false);
                if (!safe_name || !safe_rest)
                        return oom();
                printf("%s%s%s %s%s%s %s\n", ansi(n->active ? ANSI_GREEN : ANSI_GREY), dot(n->active), ansi(ANSI_NORMAL),
                       ansi(ANSI_BOLD), safe_name, ansi(ANSI_NORMAL), safe_rest);
                if (table_rows(t) > 0 && table_print_human(t, 2) < 0)
                        return fail("Cannot print the table");
                shown = true;
        }
        return array ? print_json_array(array) : 0;
}

int check_settings_given(const char *verb, uint64_t mask) {
        if (!(arg.given & mask))
                return usage_error("Nothing to change: '%s' needs at least one option (see wgnetctl --help)", verb);
        return 0;
}

int check_network_create(int argc, char **argv) {
        if (!GIVEN(OPT_ADDRESS))
                return usage_error("Missing --address for network '%s': give the server's address in the subnet, e.g. --address=10.8.0.1/24",
                                   argv[0]);
        return 0;
}

int verb_network_create(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path;
        int r;

        r = new_call(bus, &m, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "CreateNetwork");
        if (r != 0)
                return r;
        r = sd_bus_message_append(m, "s", argv[0]);
        if (r >= 0)
                r = append_network_options(m, true);
        if (r < 0)
                return append_failed(r);
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

int verb_network_delete(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, false, "Delete", "delete", "deleted");
}

int verb_network_up(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, false, "Activate", "activate", "activated");
}

int verb_network_down(sd_bus *bus, int argc, char **argv) {
        return object_simple(bus, argc, argv, false, "Deactivate", "deactivate", "deactivated");
}

int check_network_set(int argc, char **argv) {
        return check_settings_given("network set", NET_SETTINGS);
}

int verb_network_set(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        NetworkInfo *n = NULL;
        int r;

        r = new_network_call(bus, &o, argv[0], &n, &m, "Update");
        if (r != 0)
                return r;
        r = append_network_options(m, false);
        if (r < 0)
                return append_failed(r);
        r = call(bus, m, NULL, "Cannot change network '%s'", n->name);
        if (r == 0 && !arg.quiet && !output.json)
                printf("Network '%s' updated.\n", n->name);
        return r;
}

/* The most read_file_text() takes: a wg-quick config with thousands of peers is far
 * smaller; the daemon takes up to a bus message (32 MiB). */
#define TEXT_FILE_MAX (16u * 1024 * 1024)

int read_file_text(const char *path, char **ret) {
        int r = input_file_read(path, TEXT_FILE_MAX, ret);
        if (r == -EFBIG)
                return fail("Cannot read '%s': larger than 16 MiB", path);
        if (r == -EBADMSG)
                return fail("Cannot read '%s': it contains a NUL byte", path);
        if (r < 0)
                return fail("Cannot read '%s': %s", path, strerror(-r));
        /* D-Bus carries UTF-8 only (sd-bus refuses the rest): a Latin-1 comment in a
         * wg-quick file is named here, not reported as a failed call. */
        const char *bad = utf8_invalid(*ret);
        if (bad) {
                unsigned line = utf8_line_of(*ret, bad);
                const char *start = bad;
                while (start > *ret && start[-1] != '\n')
                        start--;
                _cleanup_(freep) char *shown = streq(path, "-") ? NULL : escape_nonprintable(path, false, false);
                r = usage_error("%s%s%s line %u is not valid UTF-8 (byte 0x%02x in column %zu); wgnetd takes UTF-8 "
                                "text only: convert it, e.g. with iconv -f LATIN1 -t UTF-8",
                                shown ? "'" : "", shown ? shown : "Standard input", shown ? "'" : "", line,
                                (unsigned char) *bad, (size_t) (bad - start) + 1);
                wipe_free(*ret);
                *ret = NULL;
                return r;
        }
        return 0;
}

int verb_network_import(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(wipe_freep) char *text = NULL;
        const char *path;
        int r;

        text = TAKE_PTR(arg.input);     /* read by check_input_file() */
        r = new_call(bus, &m, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "ImportNetwork");
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(m);
        r = sd_bus_message_append(m, "ss", argv[0], text);
        if (r >= 0)
                r = append_network_options(m, true);
        if (r < 0)
                return append_failed(r);
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

int verb_network_export(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *text;
        NetworkInfo *n = NULL;
        int r;

        r = new_network_call(bus, &o, argv[0], &n, &m, "Export");
        if (r != 0)
                return r;
        r = call(bus, m, &reply, "Cannot export network '%s'", n->name);
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_read(reply, "s", &text) < 0)
                return fail("Cannot export network '%s': bad reply", n->name);
        return write_output(text, "the config of network '%s'", n->name);
}

int verb_network_next_ip(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(strv_freep) char **l = NULL;
        NetworkInfo *n = NULL;
        int r;

        r = new_network_call(bus, &o, argv[0], &n, &m, "NextAddresses");
        if (r != 0)
                return r;
        r = call(bus, m, &reply, "Cannot get the next free addresses of network '%s'", n->name);
        if (r != 0)
                return r;
        if (sd_bus_message_read_strv(reply, &l) < 0)
                return fail("Cannot read the addresses of network '%s': bad reply", n->name);
        /* No free address: exit 1 also with --json (which still prints the empty list). */
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_strv(l);
                if (!j)
                        return oom();
                json_print(stdout, j, output.json_format);
        } else
                for (char **a = l; a && *a; a++)
                        printf("%s\n", *a);
        if (!l || !l[0])
                return fail("Network '%s' has no free address left", n->name);
        return 0;
}

/* --- verbs: peers ------------------------------------------------------------------------- */
