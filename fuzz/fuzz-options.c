/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The a{sv} option dictionaries of the bus methods, as wgnetd reads and checks them: the
 * input is a small program that builds a real D-Bus message (sd-bus, sealed, then read back)
 * of known and unknown keys, right and wrong types, odd strings and numbers. The first
 * byte picks what reads it:
 *   0  CreateNetwork's options: bus_read_options + network_settings_check (create)
 *   1  Network.Update's options on an existing hub network (10.0.0.1/24, fd00::1/64)
 *   2  AddPeer's (name, options): peer_spec_read + peer_specs_check on that network
 * Whatever is refused must say why (an InvalidArgs-style error) or be a read error of the
 * message itself; nothing may crash, leak (ASan) or change the network. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-util.h"
#include "manager.h"
#include "network-options.h"
#include "network.h"
#include "peer-add.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sd_bus *bus;             /* never connected: messages are only built and read */
static Manager *manager;
static Network *network;

static const char *const keys[] = {
        /* the Network's */
        "Interface", "Addresses", "ListenPort", "Endpoint", "DNS", "MTU", "Mode", "ExtraRoutes",
        "PeerIsolation", "NatInterface", "KeyPolicy", "OnlineThreshold", "Activate",
        "RotationInterval", "RotationKind", "RevokeAfterInactive", "GracePeriod",
        /* the Peer's */
        "Name", "PersistentKeepalive", "PresharedKey", "PublicKey", "Role", "SiteNetworks", "Email",
        "Enabled", "ExpiresAt", "RemoteEndpoint",
        /* none */
        "", "Bogus", "addresses",
};

/* Strings the checks care about, picked by the input, besides arbitrary text. */
static const char *const words[] = {
        "10.0.0.1/24", "10.0.0.2/32", "10.0.0.0/24", "fd00::1/64", "fd00::5/128", "auto", "0.0.0.0/0",
        "192.168.7.0/24", "10.0.0.255/32", "::/0", "hub", "gateway", "split", "mesh", "site-gateway",
        "client", "stored", "one-time", "psk", "keypair", "default", "wg0", "vpn.example.com:51820",
        "[2001:db8::1]:51820", "1.2.3.4:0", "a@example.org", "eth0", "1.1.1.1", "example.internal",
        "8Z9x0iW7Xb2Nq3cPp6Aq1d0nL3yJr9b7s5t1u2v3w4E=", "",
};

typedef struct Input {
        const uint8_t *p, *end;
} Input;

static uint8_t next(Input *in) {
        return in->p < in->end ? *in->p++ : 0;
}

/* A string for sd-bus (valid UTF-8, no NUL): a known word, or up to 63 bytes of input
 * with bytes above 0x7f turned into two-byte characters. */
static char *next_string(Input *in, char buf[160]) {
        uint8_t b = next(in);
        if (b & 0x80)
                return strcpy(buf, words[(b & 0x7f) % (sizeof(words) / sizeof(words[0]))]);
        size_t len = b & 0x3f, k = 0;
        for (size_t i = 0; i < len && in->p < in->end; i++) {
                uint8_t c = next(in);
                if (c == 0)
                        c = ' ';
                if (c < 0x80)
                        buf[k++] = (char) c;
                else {
                        buf[k++] = (char) 0xc3;
                        buf[k++] = (char) (0x80 | (c & 0x3f));
                }
        }
        buf[k] = 0;
        return buf;
}

static uint64_t next_number(Input *in, unsigned bytes) {
        uint64_t v = 0;
        for (unsigned i = 0; i < bytes; i++)
                v = v << 8 | next(in);
        return v;
}

/* One "{sv}" entry; false when the message could not take it (it is then unusable). */
static bool append_entry(sd_bus_message *m, Input *in) {
        char key_buf[160], s[160];
        uint8_t k = next(in), t = next(in);
        const char *key = k == 0xff ? next_string(in, key_buf) : keys[k % (sizeof(keys) / sizeof(keys[0]))];
        int r;

        switch (t % 8) {
        case 0:
                r = sd_bus_message_append(m, "{sv}", key, "s", next_string(in, s));
                break;
        case 1: {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", key);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "s");
                unsigned n = next(in) % 12;
                for (unsigned i = 0; r >= 0 && i < n; i++)
                        r = sd_bus_message_append(m, "s", next_string(in, s));
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                break;
        }
        case 2:
                r = sd_bus_message_append(m, "{sv}", key, "q", (uint16_t) next_number(in, 2));
                break;
        case 3:
                r = sd_bus_message_append(m, "{sv}", key, "u", (uint32_t) next_number(in, 4));
                break;
        case 4:
                r = sd_bus_message_append(m, "{sv}", key, "b", (int) (next(in) & 1));
                break;
        case 5:
                r = sd_bus_message_append(m, "{sv}", key, "t", next_number(in, 8));
                break;
        case 6:
                r = sd_bus_message_append(m, "{sv}", key, "i", (int32_t) next_number(in, 4));
                break;
        default: {
                uint8_t bytes[32];
                size_t n = next(in) % sizeof(bytes);
                for (size_t i = 0; i < n; i++)
                        bytes[i] = next(in);
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", key);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "ay");
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', bytes, n);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                break;
        }
        }
        return r >= 0;
}

static sd_bus_message *build(Input *in, bool with_name) {
        sd_bus_message *m = NULL;
        char s[160];
        int r = sd_bus_message_new_method_call(bus, &m, "org.wgnet1", "/org/wgnet1", "org.wgnet1.Fuzz", "Call");
        if (r < 0)
                abort();
        if (with_name && sd_bus_message_append(m, "s", next_string(in, s)) < 0)
                goto fail;
        if (sd_bus_message_open_container(m, 'a', "{sv}") < 0)
                goto fail;
        for (unsigned i = 0; i < 24 && in->p < in->end; i++)
                if (!append_entry(m, in))
                        goto fail;
        if (sd_bus_message_close_container(m) < 0 || sd_bus_message_seal(m, 1, 0) < 0 ||
            sd_bus_message_rewind(m, true) < 0)
                goto fail;
        return m;
fail:
        sd_bus_message_unref(m);
        return NULL;
}

/* A refusal says why; a message that could not be read is the only other way to fail.
 * FUZZ_OPTIONS_VERBOSE=1 prints each outcome (to see what a seed reaches). */
static void check_refusal(int r, const sd_bus_error *error) {
        if (getenv("FUZZ_OPTIONS_VERBOSE"))
                fprintf(stderr, "%s: %s\n", r >= 0 ? "accepted" : "refused",
                        sd_bus_error_is_set(error) ? error->message : strerror(-r));
        if (r >= 0 || r == -ENOMEM)
                return;
        if (!sd_bus_error_is_set(error) && r != -ENXIO && r != -EBADMSG && r != -EINVAL)
                abort();
}

static void setup(void) {
        int pair[2];
        ManagerConfig c = { .state_dir = (char *) "/nonexistent", .tick_usec = 1000000 };
        BusOption opts[_NETOPT_MAX] = NETWORK_OPTIONS_INIT;
        NetworkSettings s = { 0 };
        const char *changed[17];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0 || sd_bus_new(&bus) < 0 ||
            sd_bus_set_fd(bus, pair[0], pair[0]) < 0 || sd_bus_start(bus) < 0)
                abort();
        if (manager_new(&c, &manager) < 0 || network_new(manager, 1, "office", "wg0", &network) < 0 ||
            network_attach(network) < 0)
                abort();
        /* the network's subnets and pools, set the way CreateNetwork sets them */
        char *addresses[] = { (char *) "10.0.0.1/24", (char *) "fd00::1/64", NULL };
        opts[NETOPT_ADDRESSES].set = true;
        opts[NETOPT_ADDRESSES].as = addresses;
        if (network_settings_check(manager, NULL, "wgfuzz", opts, NETWORK_CHECK_CREATE, &s, NULL) < 0 ||
            network_settings_apply(network, opts, &s, changed) < 0)
                abort();
        opts[NETOPT_ADDRESSES].as = NULL;
        network_settings_done(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Input in = { data, data + size };
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!bus)
                setup();
        uint8_t mode = next(&in) % 3;
        sd_bus_message *m = build(&in, mode == 2);
        if (!m)
                return 0;

        if (mode < 2) {
                BusOption opts[_NETOPT_MAX] = NETWORK_OPTIONS_INIT;
                NetworkSettings s = { 0 };
                r = bus_read_options(m, opts, _NETOPT_MAX, &error);
                if (r >= 0)
                        r = network_settings_check(manager, mode == 0 ? NULL : network,
                                                   mode == 0 ? "wgfuzz" : network->ifname, opts,
                                                   mode == 0 ? NETWORK_CHECK_CREATE : NETWORK_CHECK_UPDATE, &s, &error);
                check_refusal(r, &error);
                network_settings_done(&s);
                bus_options_done(opts, _NETOPT_MAX);
        } else {
                PeerSpec spec;
                r = peer_spec_read(m, &spec, &error);
                if (r >= 0)
                        r = peer_specs_check(network, &spec, 1, NULL, &error);
                check_refusal(r, &error);
                peer_specs_done(&spec, 1);
        }
        /* the network is as it was: a check never takes addresses or changes settings */
        if (network->n_subnets != 2 || network->n_peers != 0)
                abort();
        sd_bus_error_free(&error);
        sd_bus_message_unref(m);
        return 0;
}
