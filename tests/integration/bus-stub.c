/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A stand-in for wgnetd on the bus, to test the bus policy (dbus/org.wgnet1.conf):
 *
 *   bus-stub own          take org.wgnet1 and exit: 0 = owned, 3 = access denied, 1 = other
 *   bus-stub serve SECS   take org.wgnet1, print "ready", answer for SECS seconds:
 *                         org.wgnet1.Manager.ListNetworks() -> a(so) (empty), and
 *                         org.wgnet1.Test.Hidden() -> s, an interface the policy does not open
 *   bus-stub hang SECS    take org.wgnet1, print "ready", then read and answer nothing for
 *                         SECS seconds: a hung wgnetd (tests/integration/test-metrics.py)
 *
 * The bus is the system bus: $DBUS_SYSTEM_BUS_ADDRESS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

static int method_list_networks(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, "a(so)", 0);
}

static int method_hidden(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, "s", "should not be reachable by others");
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("ListNetworks", "", "a(so)", method_list_networks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable test_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Hidden", "", "s", method_hidden, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;
        int r, ret = 1;

        if (argc < 2 ||
            (strcmp(argv[1], "own") != 0 && strcmp(argv[1], "serve") != 0 && strcmp(argv[1], "hang") != 0)) {
                fprintf(stderr, "usage: %s own | serve SECONDS | hang SECONDS\n", argv[0]);
                return 2;
        }
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "bus-stub: cannot connect to the system bus: %s\n", strerror(-r));
                return 1;
        }
        r = sd_bus_request_name(bus, "org.wgnet1", 0);
        if (r < 0) {
                fprintf(stderr, "bus-stub: cannot own org.wgnet1: %s\n", strerror(-r));
                ret = r == -EACCES || r == -EPERM ? 3 : 1;
                goto out;
        }
        if (strcmp(argv[1], "own") == 0) {
                printf("owned\n");
                ret = 0;
                goto out;
        }

        uint64_t seconds = argc > 2 ? strtoull(argv[2], NULL, 10) : 10;
        if (strcmp(argv[1], "hang") == 0) {
                printf("ready\n");
                fflush(stdout);
                struct timespec ts = { .tv_sec = (time_t) seconds };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
                ret = 0;
                goto out;
        }
        r = sd_bus_add_object_vtable(bus, NULL, "/org/wgnet1", "org.wgnet1.Manager", manager_vtable, NULL);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/wgnet1", "org.wgnet1.Test", test_vtable, NULL);
        if (r < 0) {
                fprintf(stderr, "bus-stub: cannot add objects: %s\n", strerror(-r));
                goto out;
        }
        printf("ready\n");
        fflush(stdout);

        uint64_t end = now_usec() + seconds * 1000000u;
        for (uint64_t t = now_usec(); t < end; t = now_usec()) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "bus-stub: %s\n", strerror(-r));
                        goto out;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, end - t);
                if (r < 0) {
                        fprintf(stderr, "bus-stub: %s\n", strerror(-r));
                        goto out;
                }
        }
        ret = 0;
out:
        sd_bus_flush_close_unref(bus);
        return ret;
}
