/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <time.h>

#include "bus-util.h"
#include "keys.h"
#include "utf8-valid.h"
#include "wgnet-error.h"

uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t now_boottime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t now_monotonic_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* The most strings an array option may hold (subnets, DNS servers, routes, site networks):
 * anyone may call before polkit is asked, so a long array is refused while it is read,
 * not after a copy of each of its strings was made. */
#define OPTION_ARRAY_MAX 4096u

static int read_strv_max(sd_bus_message *m, size_t max, char ***ret) {
        _cleanup_(strv_freep) char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        const char *s;
        int r;

        if (!l)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, 's', &s)) > 0) {
                if (n >= max)
                        return -E2BIG;
                char **nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                if (!(l[n] = strdup(s)))
                        return -ENOMEM;
                l[++n] = NULL;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int bus_read_options(sd_bus_message *m, BusOption *opts, size_t n_opts, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                BusOption *o = NULL;
                char type;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_opts; i++)
                        if (streq(opts[i].key, key))
                                o = &opts[i];
                if (!o)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'", key);
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                if (!streq(contents, o->signature))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' must be of type '%s', not '%s'",
                                                 key, o->signature, contents);
                r = sd_bus_message_enter_container(m, 'v', o->signature);
                if (r < 0)
                        return r;
                switch (o->signature[0]) {
                case 's':
                        r = sd_bus_message_read(m, "s", &o->s);
                        break;
                case 'a':
                        strv_free(o->as);
                        o->as = NULL;
                        r = read_strv_max(m, OPTION_ARRAY_MAX, &o->as);
                        if (r == -E2BIG)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option '%s' has more than %u entries", key, OPTION_ARRAY_MAX);
                        break;
                case 'q':
                        r = sd_bus_message_read(m, "q", &o->q);
                        break;
                case 'u':
                        r = sd_bus_message_read(m, "u", &o->u);
                        break;
                case 'b':
                        r = sd_bus_message_read(m, "b", &o->b);
                        break;
                case 't':
                        r = sd_bus_message_read(m, "t", &o->t);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0)
                        return r;
                o->set = true;
                r = sd_bus_message_exit_container(m);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

void bus_options_done(BusOption *opts, size_t n_opts) {
        for (size_t i = 0; i < n_opts; i++)
                if (opts[i].signature[0] == 'a') {
                        strv_free(opts[i].as);
                        opts[i].as = NULL;
                }
}

int bus_parse_prefixes(char **l, bool allow_bare, const char *what, IpPrefix **ret, size_t *ret_n,
                       sd_bus_error *error) {
        size_t n = strv_length(l);
        _cleanup_(freep) IpPrefix *list = calloc(n ? n : 1, sizeof(IpPrefix));

        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (ip_prefix_parse(l[i], allow_bare, &list[i]) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid %s '%s'", what, l[i]);
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

int bus_append_prefixes(sd_bus_message *reply, const IpPrefix *p, size_t n) {
        int r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char buf[IP_PREFIX_STRLEN];
                r = sd_bus_message_append(reply, "s", ip_prefix_to_string(&p[i], buf));
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

void bus_message_carries_secret(sd_bus_message *m) {
        (void) sd_bus_message_sensitive(m);
}

int bus_reply_errno(sd_bus_error *error, int r, const char *fmt, ...) {
        char msg[512];
        va_list ap;

        if (sd_bus_error_is_set(error))
                return r;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* A message cut at sizeof(msg) may end inside a character: sd-bus would refuse to
         * send it, and the caller would get no reply at all. */
        msg[utf8_prefix_len(msg, strlen(msg), SIZE_MAX)] = '\0';
        const char *name = wgnet_error_name(-r);
        if (name)
                return sd_bus_error_set(error, name, msg);
        return sd_bus_error_set_errnof(error, r, "%s: %s", msg, strerror(-r));
}

int bus_property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        /* sd-bus's own "b" getter reads an int; our fields are bool. */
        return sd_bus_message_append(reply, "b", (int) *(const bool *) userdata);
}

int bus_emit_changedv(sd_bus *bus, const char *path, const char *interface, const char *first, va_list ap) {
        char *props[32];
        size_t k = 0;

        if (!bus)
                return 0;
        for (const char *s = first; s && k < ELEMENTSOF(props) - 1; s = va_arg(ap, const char *))
                props[k++] = (char *) s;
        props[k] = NULL;
        return sd_bus_emit_properties_changed_strv(bus, path, interface, props);
}

int bus_property_get_key(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char key[WG_KEY_B64_SIZE];
        wg_key_to_base64(key, userdata);
        return sd_bus_message_append(reply, "s", key);
}

int bus_paths_of(Hashmap *h, size_t path_offset, char ***ret) {
        size_t k = 0;
        void *o;
        char **v = calloc(hashmap_size(h) + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        HASHMAP_FOREACH(o, h, i)
                if (!(v[k++] = strdup(*(char **) ((uint8_t *) o + path_offset)))) {
                        strv_free(v);
                        return -ENOMEM;
                }
        *ret = v;
        return 0;
}

int set_string(char **field, const char *value, bool *changed) {
        if (streq_ptr(*field, value))
                return 0;
        char *c = strdup(value);
        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        if (changed)
                *changed = true;
        return 0;
}
