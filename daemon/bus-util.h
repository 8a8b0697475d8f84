/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <systemd/sd-bus.h>

#include "addr.h"
#include "hashmap.h"
#include "macro.h"

/* One option of an a{sv} argument. */
typedef struct BusOption {
        const char *key;
        const char *signature;          /* "s", "as", "q", "u", "b", "t" */
        bool set;
        union {
                const char *s;          /* points into the message */
                char **as;              /* owned */
                uint16_t q;
                uint32_t u;
                int b;
                uint64_t t;
        };
} BusOption;

/* Read an a{sv}: every key must be in opts with the right type, else InvalidArgs. */
int bus_read_options(sd_bus_message *m, BusOption *opts, size_t n_opts, sd_bus_error *error);
void bus_options_done(BusOption *opts, size_t n_opts);

/* Parse a list of CIDRs (prefix required unless allow_bare); InvalidArgs names the bad one. */
int bus_parse_prefixes(char **l, bool allow_bare, const char *what, IpPrefix **ret, size_t *ret_n,
                       sd_bus_error *error);

int bus_append_prefixes(sd_bus_message *reply, const IpPrefix *p, size_t n);

/* Turn a negative errno into a project error reply (with a message) when unset. */
/* An incoming call that carries a secret (a key, a pairing string, an invitation): its
 * memory is wiped when freed, also while it waits for polkit. */
void bus_message_carries_secret(sd_bus_message *m);
int bus_reply_errno(sd_bus_error *error, int r, const char *fmt, ...) _printf_(3, 4);

/* The object paths of the objects in h (a char * at path_offset in each), for a node
 * enumerator. */
int bus_paths_of(Hashmap *h, size_t path_offset, char ***ret);

/* *field = a copy of value (the old one freed) unless equal; *changed (if not NULL) set
 * when it changed. */
int set_string(char **field, const char *value, bool *changed);

uint64_t now_usec(void);
/* CLOCK_MONOTONIC in µs. */
uint64_t now_monotonic_usec(void);
/* CLOCK_BOOTTIME (monotonic, counting suspend too) in µs. */
uint64_t now_boottime_usec(void);

/* Property getter for a C bool field (SD_BUS_PROPERTY with offsetof). */
int bus_property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error);

/* PropertiesChanged for a NULL-terminated list of property names (the helpers behind
 * network_emit_changed() and its kind). Nothing without a bus. */
int bus_emit_changedv(sd_bus *bus, const char *path, const char *interface, const char *first, va_list ap);

/* Property getter for a 32-byte key field, as base64 (SD_BUS_PROPERTY with offsetof). */
int bus_property_get_key(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error);
