/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl mesh create|invite|join|leave|members|exit-node (docs/mesh.md).
 */
#include "wgnetctl.h"

#define WGNET_MESH_INTERFACE "org.wgnet1.Mesh"
#define WGNET_MESH_MEMBER_INTERFACE "org.wgnet1.MeshMember"

static int find_mesh(Objects *o, const char *name, NetworkInfo **ret) {
        int r = find_network(o, name, ret);
        if (r != 0)
                return r;
        if (!streq_ptr((*ret)->mode, "mesh"))
                return fail("Network '%s' is not a mesh (its mode is %s)", (*ret)->name, (*ret)->mode ? (*ret)->mode : "-");
        return 0;
}

int check_mesh_create(int argc, char **argv) {
        if (!GIVEN(OPT_ADDRESS))
                return usage_error("mesh create needs --address=CIDR (the coordinator's mesh address and subnet)");
        if (!GIVEN(OPT_ENDPOINT))
                return usage_error("mesh create needs --endpoint=ADDRESS:PORT (where members reach this host)");
        return 0;
}

int verb_mesh_create(sd_bus *bus, int argc, char **argv) {
        arg.mode = "mesh";
        arg.given |= BIT(OPT_MODE);
        return verb_network_create(bus, argc, argv);
}

int check_mesh_invite(int argc, char **argv) {
        if (GIVEN(OPT_EXPIRES) && (arg.expires == 0 || arg.expires <= now_realtime_usec()))
                return usage_error("--expires must lie in the future (e.g. --expires=+1h)");
        return 0;
}

int verb_mesh_invite(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(objects_done) Objects o = { 0 };
        NetworkInfo *n = NULL;
        const char *s;
        int r = load(bus, &o);
        if (r == 0)
                r = find_mesh(&o, argv[0], &n);
        if (r == 0)
                r = new_call(bus, &m, n->path, WGNET_MESH_INTERFACE, "CreateInvitation");
        if (r != 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && GIVEN(OPT_NAME))
                r = sd_bus_message_append(m, "{sv}", "Name", "s", arg.name);
        if (r >= 0 && GIVEN(OPT_ENDPOINT))
                r = sd_bus_message_append(m, "{sv}", "Endpoint", "s", arg.endpoint);
        if (r >= 0 && GIVEN(OPT_EXPIRES)) {
                /* in the future (check_mesh_invite), unless a password prompt took that long */
                uint64_t now = now_realtime_usec();
                if (arg.expires <= now)
                        return fail("The --expires time of the invitation has passed meanwhile");
                r = sd_bus_message_append(m, "{sv}", "ExpiresIn", "u", (uint32_t) MIN((arg.expires - now) / 1000000 + 1,
                                                                                      (uint64_t) UINT32_MAX));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return append_failed(r);
        r = call(bus, m, &reply, "Cannot create an invitation for mesh '%s'", n->name);
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_read(reply, "s", &s) < 0)
                return fail("Cannot create an invitation for mesh '%s': bad reply", n->name);
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Mesh", json_new_string(n->name)) < 0 ||
                    json_object_add(j, "Invitation", json_new_string(s)) < 0)
                        return oom();
                json_print(stdout, j, output.json_format);
        } else if (arg.quiet || !isatty(STDOUT_FILENO))
                printf("%s\n", s);
        else
                /* On stdin, not as an argument: other users see arguments in /proc, and the
                 * shell keeps them in its history. */
                printf("%s\n\nOn the joining host run 'wgnetctl mesh join -' and paste it (then Ctrl-D),\n"
                       "or 'wgnetctl mesh join - < FILE': on standard input it stays out of the process\n"
                       "list and the shell history. The invitation works once; keep it secret until then.\n", s);
        return 0;
}

int verb_mesh_join(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(wipe_freep) char *text = NULL;
        const char *path;
        int r;

        text = TAKE_PTR(arg.input);     /* read by check_input_secret() */
        r = new_call(bus, &m, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, "JoinMesh");
        if (r != 0)
                return r;
        (void) sd_bus_message_sensitive(m);
        r = sd_bus_message_append(m, "s", text);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && GIVEN(OPT_NAME))
                r = sd_bus_message_append(m, "{sv}", "Name", "s", arg.name);
        if (r >= 0 && GIVEN(OPT_INTERFACE))
                r = sd_bus_message_append(m, "{sv}", "Interface", "s", arg.interface);
        if (r >= 0 && GIVEN(OPT_PORT))
                r = sd_bus_message_append(m, "{sv}", "ListenPort", "q", arg.port);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return append_failed(r);
        r = call(bus, m, &reply, "Cannot join the mesh");
        if (r != 0)
                return r;
        if (sd_bus_message_read(reply, "o", &path) < 0)
                return fail("Cannot join the mesh: bad reply");
        if (output.json) {
                _cleanup_(json_freep) Json *j = json_new_object();
                if (!j || json_object_add(j, "Path", json_new_string(path)) < 0)
                        return oom();
                json_print(stdout, j, output.json_format);
        } else if (!arg.quiet)
                printf("Joined the mesh (%s). 'wgnetctl mesh members' shows the others.\n", path);
        return 0;
}

int verb_mesh_leave(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(objects_done) Objects o = { 0 };
        NetworkInfo *n = NULL;
        int r = load(bus, &o);
        if (r == 0)
                r = find_mesh(&o, argv[0], &n);
        if (r == 0)
                r = new_call(bus, &m, n->path, WGNET_MESH_INTERFACE, "Leave");
        if (r == 0)
                r = call(bus, m, NULL, "Cannot leave mesh '%s'", n->name);
        if (r == 0 && !arg.quiet && !output.json)
                printf("Left mesh '%s': its interface %s is gone.\n", n->name, n->interface);
        return r;
}

/* The MeshMember properties of every peer: one GetManagedObjects. */
typedef struct MemberExtra {
        char *path;
        bool exit_node, invitation;
} MemberExtra;

static int member_extra_compare(const void *a, const void *b) {
        const MemberExtra *x = a, *y = b;
        return strcmp(x->path, y->path);
}

static int load_member_extras(sd_bus *bus, MemberExtra **ret, size_t *ret_n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        MemberExtra *l = NULL;
        size_t n = 0;
        int r = sd_bus_call_method(bus, WGNET_BUS_NAME, WGNET_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager",
                                   "GetManagedObjects", &error, &reply, NULL);
        if (r < 0)
                return report_bus_error(&error, r, NULL, NULL, "Cannot list the mesh members");
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (r > 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                const char *path, *iface;
                r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        r = sd_bus_message_read(reply, "s", &iface);
                        if (r >= 0 && streq(iface, WGNET_MESH_MEMBER_INTERFACE)) {
                                MemberExtra *nl = realloc(l, (n + 1) * sizeof(MemberExtra));
                                if (!nl)
                                        r = -ENOMEM;
                                else {
                                        l = nl;
                                        l[n] = (MemberExtra) { .path = strdup(path) };
                                        n++;
                                        if (!l[n - 1].path)
                                                r = -ENOMEM;
                                }
                                r = r < 0 ? r : sd_bus_message_enter_container(reply, 'a', "{sv}");
                                while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                                        const char *prop;
                                        int b;
                                        r = sd_bus_message_read(reply, "s", &prop);
                                        if (r >= 0 && (streq(prop, "ExitNode") || streq(prop, "Invitation"))) {
                                                r = sd_bus_message_read(reply, "v", "b", &b);
                                                if (streq(prop, "ExitNode"))
                                                        l[n - 1].exit_node = b;
                                                else
                                                        l[n - 1].invitation = b;
                                        } else if (r >= 0)
                                                r = sd_bus_message_skip(reply, "v");
                                        if (r >= 0)
                                                r = sd_bus_message_exit_container(reply);
                                }
                                if (r >= 0)
                                        r = sd_bus_message_exit_container(reply);
                        } else if (r >= 0)
                                r = sd_bus_message_skip(reply, "a{sv}");
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = 1;
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(l[i].path);
                free(l);
                return fail("Cannot read the mesh members: %s", strerror(-r));
        }
        /* sorted by path: each peer finds its entry by a binary search */
        if (n > 0)
                qsort(l, n, sizeof(MemberExtra), member_extra_compare);
        *ret = l;
        *ret_n = n;
        return 0;
}

static const Column mesh_member_columns[] = {
        { "", 0 },
        { "NAME", 0 },
        { "ADDRESS", 0 },
        { "ENDPOINT", COLUMN_TRUNC },
        { "STATE", 0 },
        { "EXIT", 0 },
        { "HANDSHAKE", 0 },
        { "PUBLIC KEY", COLUMN_KEY },
};

int verb_mesh_members(sd_bus *bus, int argc, char **argv) {
        _cleanup_(objects_done) Objects o = { 0 };
        _cleanup_(table_freep) Table *t = NULL;
        MemberExtra *extras = NULL;
        size_t n_extras = 0;
        NetworkInfo *n = NULL;
        uint64_t now = now_realtime_usec();
        int r = load(bus, &o);
        if (r == 0)
                r = find_mesh(&o, argv[0], &n);
        if (r == 0)
                r = load_member_extras(bus, &extras, &n_extras);
        if (r != 0)
                return r;
        t = table_new(mesh_member_columns, ELEMENTSOF(mesh_member_columns));
        if (!t)
                r = oom();
        for (size_t i = 0; r == 0 && i < o.n_peers; i++) {
                PeerInfo *p = &o.peers[i];
                char hs[FORMAT_RELATIVE_MAX];
                if (!streq_ptr(p->network, n->path))
                        continue;
                const MemberExtra key = { .path = p->path };
                const MemberExtra *x = n_extras > 0 ? bsearch(&key, extras, n_extras, sizeof(MemberExtra),
                                                              member_extra_compare)
                                                    : NULL;
                const char *state = x && x->invitation ? "invited" : !p->enabled ? "offline" : p->online ? "online" : "idle";
                const char *cells[] = {
                        dot(p->online),
                        p->name,
                        p->addresses && p->addresses[0] ? p->addresses[0] : "-",
                        !isempty(p->endpoint) ? p->endpoint : "-",
                        state,
                        x && x->exit_node ? "yes" : "-",
                        p->last_handshake ? format_relative(hs, p->last_handshake, now) : "never",
                        p->public_key,
                };
                const char *colors[ELEMENTSOF(cells)] = { [0] = p->online ? ANSI_GREEN : ANSI_GREY };
                Json *j = json_new_object();
                if (!j || json_object_add(j, "Name", json_new_string(p->name)) < 0 ||
                    json_object_add(j, "Path", json_new_string(p->path)) < 0 ||
                    json_object_add(j, "Addresses", json_new_strv(p->addresses)) < 0 ||
                    json_object_add(j, "Endpoint", json_new_string(p->endpoint)) < 0 ||
                    json_object_add(j, "State", json_new_string(state)) < 0 ||
                    json_object_add(j, "Online", json_new_bool(p->online)) < 0 ||
                    json_object_add(j, "ExitNode", json_new_bool(x && x->exit_node)) < 0 ||
                    json_object_add(j, "LastHandshake", json_new_unsigned(p->last_handshake)) < 0 ||
                    json_object_add(j, "PublicKey", json_new_string(p->public_key)) < 0 ||
                    table_add_row(t, cells, colors, j) < 0)
                        r = oom();
        }
        for (size_t k = 0; k < n_extras; k++)
                free(extras[k].path);
        free(extras);
        if (r != 0)
                return r;
        if (table_print(t) < 0)
                return fail("Cannot print the table");
        if (!output.json && output.legend)
                printf("\n%zu member%s of mesh '%s' besides this host (%s).\n", table_rows(t),
                       table_rows(t) == 1 ? "" : "s", n->name, n->addresses && n->addresses[0] ? n->addresses[0] : "-");
        return 0;
}

int check_mesh_exit_node(int argc, char **argv) {
        const char *what = argv[1];
        if (!streq(what, "offer") && !streq(what, "withdraw") && !streq(what, "use") && !streq(what, "none"))
                return usage_error("Unknown exit-node action '%s': expected offer, withdraw, use MEMBER or none", what);
        if (streq(what, "use") && argc != 3)
                return usage_error("'mesh exit-node MESH use' needs the member's name");
        if (!streq(what, "use") && argc != 2)
                return usage_error("'mesh exit-node MESH %s' takes no member name ('%s')", what, argv[2]);
        return 0;
}

int verb_mesh_exit_node(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(objects_done) Objects o = { 0 };
        NetworkInfo *n = NULL;
        const char *what = argv[1];
        int r;

        r = load(bus, &o);
        if (r == 0)
                r = find_mesh(&o, argv[0], &n);
        if (r != 0)
                return r;
        if (streq(what, "offer") || streq(what, "withdraw")) {
                r = new_call(bus, &m, n->path, WGNET_MESH_INTERFACE, "SetExitNode");
                if (r != 0)
                        return r;
                r = sd_bus_message_append(m, "b", streq(what, "offer"));
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r >= 0 && GIVEN(OPT_NAT_INTERFACE))
                        r = sd_bus_message_append(m, "{sv}", "NatInterface", "s", arg.nat_interface);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r < 0)
                        return append_failed(r);
                r = call(bus, m, NULL, "Cannot change the exit node of mesh '%s'", n->name);
                if (r == 0 && !arg.quiet && !output.json)
                        printf(streq(what, "offer") ? "This host is an exit node of mesh '%s' now.\n"
                                                    : "This host is no exit node of mesh '%s' any more.\n", n->name);
                return r;
        }
        const char *member = streq(what, "use") ? argv[2] : "";
        r = new_call(bus, &m, n->path, WGNET_MESH_INTERFACE, "UseExitNode");
        if (r != 0)
                return r;
        r = sd_bus_message_append(m, "s", member);
        if (r < 0)
                return append_failed(r);
        r = call(bus, m, NULL, "Cannot choose the exit node of mesh '%s'", n->name);
        if (r == 0 && !arg.quiet && !output.json) {
                if (*member)
                        printf("The default route of this host goes through '%s' now.\n", member);
                else
                        printf("No exit node: the default route is this host's own again.\n");
        }
        return r;
}
