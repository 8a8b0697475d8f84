/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

typedef struct Manager Manager;
typedef struct Network Network;

/* Does this network's mode need the kernel to forward packets? */
bool network_needs_forwarding(const Network *n);
/* Write a one-character sysctl value unless it is there: 1 written, 0 already, < 0 error. */
int write_sysctl(const char *path, const char *value);
/* Bring table inet wgnet and IP forwarding in line with the active networks. */
int manager_firewall_sync(Manager *m, bool force);
