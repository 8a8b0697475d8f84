/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD for wgnetd in tests: CLOCK_REALTIME reads the number of seconds in the file
 * named by WGNET_CLOCK_STEP later than it is (a host without a real-time clock whose time
 * NTP sets after the start). The other clocks are left as they are. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long step_seconds(void) {
        const char *path = getenv("WGNET_CLOCK_STEP");
        long s = 0;
        FILE *f = path ? fopen(path, "re") : NULL;
        if (f) {
                if (fscanf(f, "%ld", &s) != 1)
                        s = 0;
                fclose(f);
        }
        return s;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
        static int (*real)(clockid_t, struct timespec *);
        if (!real)
                *(void **) &real = dlsym(RTLD_NEXT, "clock_gettime");       /* POSIX's way round ISO C */
        int r = real(id, ts);
        if (r == 0 && id == CLOCK_REALTIME)
                ts->tv_sec += step_seconds();
        return r;
}
