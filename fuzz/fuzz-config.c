/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /etc/wgnet/wgnetd.conf as wgnetd reads it (config_parse_file), from a memfd: whatever is
 * accepted gives values inside their documented ranges; nothing may crash or leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "manager.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char path[64];
        int fd = memfd_create("wgnetd.conf", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        if (size > 0 && write(fd, data, size) != (ssize_t) size)
                abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        log_set_max_level(getenv("FUZZ_CONFIG_VERBOSE") ? 7 : 0);

        ManagerConfig c = { .state_dir = strdup("/var/lib/wgnet"), .tick_usec = 5000000, .firewall = -1,
                            .history_fine_days = 7, .history_coarse_days = 90 };
        if (!c.state_dir)
                abort();
        if (config_parse_file(path, true, &c) >= 0) {
                if (!c.state_dir || c.state_dir[0] != '/' || c.tick_usec < 100000 || c.tick_usec > 3600000000ULL ||
                    c.history_fine_days < 0 || c.history_fine_days > 3650 || c.history_coarse_days < 0 ||
                    c.history_coarse_days > 3650 || c.firewall < -1 || c.firewall > 1 ||
                    (c.userspace_binary && !*c.userspace_binary))
                        abort();
        }
        free(c.state_dir);
        free(c.userspace_binary);
        close(fd);
        return 0;
}
