/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

typedef struct PolkitRegistry PolkitRegistry;

PolkitRegistry *polkit_registry_new(void);
PolkitRegistry *polkit_registry_free(PolkitRegistry *r);

/* Asynchronous polkit check of the sender of m for action.
 *
 * Returns 1 when the caller is authorized (uid 0 always is), 0 when a CheckAuthorization
 * call is in flight: the method handler must then return 1 at once; when polkit answers,
 * the message is queued again and the handler runs again, this time getting the answer.
 * Returns a negative errno with error set (AccessDenied, InteractiveAuthorizationRequired)
 * when denied, or when polkitd cannot be reached. Nothing is cached beyond that one
 * re-dispatch of the same message. */
int polkit_verify_async(sd_bus_message *m, const char *action, PolkitRegistry *registry,
                        sd_bus_error *error);
/* The same for several actions that must all allow (asked one after the other, at most 2). */
int polkit_verify_async_all(sd_bus_message *m, const char *const *actions, size_t n_actions,
                            PolkitRegistry *registry, sd_bus_error *error);
/* True when polkit_verify_async_all() would now return 1 without asking: the caller is uid 0,
 * or polkit has allowed this message and the answer waits for its handler. Changes nothing. */
bool polkit_will_allow(sd_bus_message *m, PolkitRegistry *registry);
/* name left the bus: its pending checks are withdrawn (polkit's prompt with them) and its
 * calls are never run, also one that polkit allowed and whose handler has yet to run. */
void polkit_registry_caller_gone(PolkitRegistry *r, const char *name);
/* Drop answers that no handler picked up within a minute (called by the tick). */
void polkit_registry_gc(PolkitRegistry *r);
