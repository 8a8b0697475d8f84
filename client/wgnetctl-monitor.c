/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl monitor: signals and property changes as they happen. */
#include "hashmap.h"
#include "wgnetctl.h"

/* --- monitor ------------------------------------------------------------------------------ */

typedef struct Label {
        char *path, *text;
} Label;

/* Object path -> label ("office", "office/phone"): a hash map, as a monitor of 30,000 peers
 * looks one up for every signal (an array scan made the start take seconds). */
static struct {
        Hashmap *labels;
        volatile sig_atomic_t quit;
} mon;

static const char *label_of(const char *path) {
        Label *l = mon.labels && path ? hashmap_get(mon.labels, path) : NULL;
        return l ? l->text : NULL;
}

static void label_set(const char *path, const char *text) {
        Label *l = mon.labels ? hashmap_get(mon.labels, path) : NULL;
        char *t = strdup(text);

        if (!t || !mon.labels) {
                free(t);
                return;         /* no memory: the object is shown by its path */
        }
        if (l) {
                free(l->text);
                l->text = t;
                return;
        }
        l = malloc(sizeof(Label));
        if (l)
                *l = (Label) { .path = strdup(path), .text = t };
        if (!l || !l->path || hashmap_put(mon.labels, l->path, l) < 0) {
                if (l)
                        free(l->path);
                free(l);
                free(t);
        }
}

static void labels_free(void) {
        Label *l;
        HASHMAP_FOREACH(l, mon.labels, i) {
                free(l->path);
                free(l->text);
                free(l);
        }
        mon.labels = hashmap_free(mon.labels);
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
        /* names, emails and endpoints from the daemon: shown, not sent to the terminal */
        _cleanup_(freep) char *safe_label = escape_nonprintable(label ? label : path, output.utf8, false);
        _cleanup_(freep) char *safe_details = escape_nonprintable(details ? details : "", output.utf8, false);
        if (!safe_label || !safe_details) {
                oom();
                return;
        }
        printf("%s.%03u %s%s%s %s%s%s", buf, (unsigned) (now % USEC_PER_SEC / 1000), ansi(ANSI_BOLD),
               safe_label, ansi(ANSI_NORMAL), event, *safe_details ? ": " : "", safe_details);
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


int verb_monitor(sd_bus *bus, int argc, char **argv) {
        int r;

        setvbuf(stdout, NULL, _IOLBF, 0);
        mon.labels = hashmap_new(string_hash_func, string_equal_func);
        if (!mon.labels)
                return oom();
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
        labels_free();
        return 0;
}
