/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "hashmap.h"
#include "log.h"
#include "macro.h"
#include "polkit.h"

typedef enum QueryState {
        QUERY_PENDING,
        QUERY_ALLOWED,
        QUERY_DENIED,
        QUERY_CHALLENGE,                /* would be allowed after interactive authentication */
        QUERY_FAILED,                   /* polkitd unreachable or broken reply */
        QUERY_TIMED_OUT,                /* no answer in time (a prompt nobody answered, a polkitd that hangs) */
        QUERY_CALLER_GONE,              /* the caller left the bus after the answer, before its handler ran */
} QueryState;

/* A non-interactive check: shorter than the callers' own timeouts (sd-bus and python-dbus
 * 25 s), so that they get wgnetd's answer. An interactive one waits for a person, within
 * wgnetctl's 300 s; a caller with a shorter timeout of its own (busctl asks interactively
 * by default and waits 25 s) gives up first, and the check holds one of its user's 16
 * places until it ends. */
#define CHECK_TIMEOUT_USEC (10 * UINT64_C(1000000))
#define CHECK_INTERACTIVE_TIMEOUT_USEC (280 * UINT64_C(1000000))

#define QUERY_MAX_ACTIONS 2
#define QUERY_STALE_USEC (60 * UINT64_C(1000000))
#define QUERIES_PER_USER_MAX 16
#define QUERIES_MAX 96

typedef struct Query {
        PolkitRegistry *registry;
        sd_bus_message *request;        /* the caller's message, referenced */
        sd_bus_slot *slot;
        char *actions[QUERY_MAX_ACTIONS];
        size_t n_actions, current;      /* checked one after the other, all must allow */
        QueryState state;
        uint64_t answered_usec;         /* when polkit's last answer came */
        uid_t uid;                      /* the caller's: the limits count per user */
        char cancellation_id[32];       /* polkit's handle to withdraw the check (and its prompt) */
} Query;

struct PolkitRegistry {
        Hashmap *queries;               /* sd_bus_message* -> Query */
        /* The uid of each caller's unique name. A unique name is never given to another
         * connection during the bus's life and a connection's uid is fixed when it
         * connects, so an entry is never wrong; it saves a GetConnectionUnixUser round
         * trip per call. Only the uid is kept: authorization is asked every time. */
        Hashmap *uids;                  /* char *sender -> UidEntry */
        uint64_t n_checks;              /* makes each check's cancellation id */
};

#define UID_CACHE_MAX 4096

static uint64_t ptr_hash(const void *p) {
        uint64_t x = (uint64_t) (uintptr_t) p;
        return uint64_hash_func(&x);
}

static bool ptr_equal(const void *a, const void *b) {
        return a == b;
}

PolkitRegistry *polkit_registry_new(void) {
        PolkitRegistry *r = calloc(1, sizeof(PolkitRegistry));
        if (!r)
                return NULL;
        r->queries = hashmap_new(ptr_hash, ptr_equal);
        r->uids = hashmap_new(string_hash_func, string_equal_func);
        if (!r->queries || !r->uids) {
                hashmap_free(r->queries);
                hashmap_free(r->uids);
                free(r);
                return NULL;
        }
        return r;
}

static Query *query_free(Query *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        for (size_t i = 0; i < q->n_actions; i++)
                free(q->actions[i]);
        free(q);
        return NULL;
}

/* One cached uid: the key is the name inside it, so a removal frees both. */
typedef struct UidEntry {
        uid_t uid;
        char name[];
} UidEntry;

static void uid_cache_clear(PolkitRegistry *r) {
        UidEntry *e;
        HASHMAP_FOREACH(e, r->uids, i)
                free(e);
        hashmap_clear(r->uids);
}

static int caller_uid(PolkitRegistry *registry, sd_bus_message *m, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(m);
        uid_t uid;
        int r;

        if (sender) {
                UidEntry *e = hashmap_get(registry->uids, sender);
                if (e) {
                        *ret = e->uid;
                        return 0;
                }
        }
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        if (sender) {
                /* Names leave through polkit_registry_caller_gone(); this bound is for a
                 * bus whose signals were missed. */
                if (hashmap_size(registry->uids) >= UID_CACHE_MAX)
                        uid_cache_clear(registry);
                size_t len = strlen(sender);
                UidEntry *e = malloc(sizeof(UidEntry) + len + 1);
                if (e) {
                        e->uid = uid;
                        memcpy(e->name, sender, len + 1);
                        if (hashmap_put(registry->uids, e->name, e) < 0)
                                free(e);
                }
        }
        *ret = uid;
        return 0;
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *r) {
        if (!r)
                return NULL;
        Query *q;
        HASHMAP_FOREACH(q, r->queries, i)
                query_free(q);
        hashmap_free(r->queries);
        uid_cache_clear(r);
        hashmap_free(r->uids);
        free(r);
        return NULL;
}

static int send_check(Query *q);

void polkit_registry_caller_gone(PolkitRegistry *r, const char *name) {
        Query *gone[QUERIES_MAX], *q;
        size_t n = 0;

        free(hashmap_remove(r->uids, name));
        HASHMAP_FOREACH(q, r->queries, i) {
                const char *sender = sd_bus_message_get_sender(q->request);
                if (sender && streq(sender, name) && n < ELEMENTSOF(gone))
                        gone[n++] = q;
        }
        for (size_t i = 0; i < n; i++) {
                q = gone[i];
                if (q->state != QUERY_PENDING) {
                        /* Answered and queued for its handler, which now refuses it. */
                        q->state = QUERY_CALLER_GONE;
                        continue;
                }
                /* Nobody waits for the answer any more: an "allowed" must not make a change
                 * the caller gave up on (a Ctrl-C at the password prompt), and a prompt
                 * still open is withdrawn. */
                log_info("%s left while polkit was asked about %s: its call is dropped", name,
                         q->actions[q->current]);
                (void) sd_bus_call_method_async(sd_bus_message_get_bus(q->request), NULL, "org.freedesktop.PolicyKit1",
                                                "/org/freedesktop/PolicyKit1/Authority",
                                                "org.freedesktop.PolicyKit1.Authority", "CancelCheckAuthorization",
                                                NULL, NULL, "s", q->cancellation_id);
                hashmap_remove(r->queries, q->request);
                query_free(q);
        }
}

static uint64_t now_monotonic(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

void polkit_registry_gc(PolkitRegistry *r) {
        /* A query whose answer was never picked up (the handler failed before asking
         * again) must not keep the caller's message, which may hold secrets. */
        uint64_t now = now_monotonic();
        Query *stale[64], *q;
        size_t n = 0;
        HASHMAP_FOREACH(q, r->queries, i)
                if (q->state != QUERY_PENDING && now - q->answered_usec > QUERY_STALE_USEC && n < ELEMENTSOF(stale))
                        stale[n++] = q;
        for (size_t i = 0; i < n; i++) {
                hashmap_remove(r->queries, stale[i]->request);
                query_free(stale[i]);
        }
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Query *q = userdata;
        int authorized = 0, challenge = 0;

        q->slot = sd_bus_slot_unref(q->slot);
        /* Stale counts from the answer: an interactive authentication may take minutes. */
        q->answered_usec = now_monotonic();
        if (sd_bus_message_is_method_error(reply, SD_BUS_ERROR_TIMEOUT) ||
            sd_bus_message_is_method_error(reply, SD_BUS_ERROR_NO_REPLY))
                q->state = QUERY_TIMED_OUT;
        else if (sd_bus_message_is_method_error(reply, NULL))
                q->state = QUERY_FAILED;
        else if (sd_bus_message_enter_container(reply, 'r', "bba{ss}") >= 0 &&
                 sd_bus_message_read(reply, "bb", &authorized, &challenge) >= 0)
                q->state = authorized ? QUERY_ALLOWED : challenge ? QUERY_CHALLENGE : QUERY_DENIED;
        else
                q->state = QUERY_FAILED;

        /* The next action of the same call, asked only once the previous one allowed. */
        if (q->state == QUERY_ALLOWED && q->current + 1 < q->n_actions) {
                q->current++;
                q->state = QUERY_PENDING;
                if (send_check(q) >= 0)
                        return 0;
                q->state = QUERY_FAILED;
        }

        /* Run the method handler again with the answer in the registry. */
        if (sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request) < 0) {
                (void) sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED,
                                                  "Authorization for %s could not be completed", q->actions[q->current]);
                hashmap_remove(q->registry->queries, q->request);
                query_free(q);
        }
        return 0;
}

static int send_check(Query *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        const char *sender = sd_bus_message_get_sender(q->request);
        uint32_t flags = sd_bus_message_get_allow_interactive_authorization(q->request) ? 1 : 0;
        int r;

        if (!sender)
                return -EBADMSG;
        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority",
                                           "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us",
                                          "system-bus-name", 1, "name", "s", sender,
                                          q->actions[q->current], 0, flags, q->cancellation_id);
        if (r < 0)
                return r;
        q->slot = sd_bus_slot_unref(q->slot);
        /* Interactive authentication may take as long as a user needs, nearly. */
        return sd_bus_call_async(bus, &q->slot, call, on_check_reply, q,
                                 flags ? CHECK_INTERACTIVE_TIMEOUT_USEC : CHECK_TIMEOUT_USEC);
}

static int start_query(sd_bus_message *m, const char *const *actions, size_t n_actions, uid_t uid,
                       PolkitRegistry *registry) {
        Query *q;
        int r;

        q = calloc(1, sizeof(Query));
        if (!q)
                return -ENOMEM;
        q->registry = registry;
        q->uid = uid;
        snprintf(q->cancellation_id, sizeof(q->cancellation_id), "wgnet-%" PRIu64, ++registry->n_checks);
        q->request = sd_bus_message_ref(m);
        q->state = QUERY_PENDING;
        for (size_t i = 0; i < n_actions && i < QUERY_MAX_ACTIONS; i++) {
                q->actions[i] = strdup(actions[i]);
                if (!q->actions[i]) {
                        query_free(q);
                        return -ENOMEM;
                }
                q->n_actions++;
        }
        r = send_check(q);
        if (r >= 0)
                r = hashmap_put(registry->queries, q->request, q);
        if (r < 0) {
                query_free(q);
                return r;
        }
        return 0;
}

bool polkit_will_allow(sd_bus_message *m, PolkitRegistry *registry) {
        Query *q = hashmap_get(registry->queries, m);
        if (q)
                return q->state == QUERY_ALLOWED;
        uid_t uid;
        return caller_uid(registry, m, &uid) >= 0 && uid == 0;
}

int polkit_verify_async(sd_bus_message *m, const char *action, PolkitRegistry *registry,
                        sd_bus_error *error) {
        const char *actions[] = { action };
        return polkit_verify_async_all(m, actions, action ? 1 : 0, registry, error);
}

int polkit_verify_async_all(sd_bus_message *m, const char *const *actions, size_t n_actions,
                            PolkitRegistry *registry, sd_bus_error *error) {
        const char *action;
        uid_t uid;
        int r;

        if (n_actions == 0 || !actions[0])
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "No authorization rule for this method");
        if (n_actions > QUERY_MAX_ACTIONS)
                return -EINVAL;

        Query *q = hashmap_get(registry->queries, m);
        if (q && q->state == QUERY_PENDING)
                return 0;       /* asked again before polkit answered: keep waiting */
        if (q) {
                hashmap_remove(registry->queries, m);
                QueryState state = q->state;
                /* The action that decided: the last one asked. */
                _cleanup_(freep) char *decided = strdup(q->actions[q->current]);
                query_free(q);
                action = decided ? decided : actions[0];
                switch (state) {
                case QUERY_ALLOWED:
                        return 1;
                case QUERY_CHALLENGE:
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                                 "Interactive authentication required for %s", action);
                case QUERY_DENIED:
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Not authorized: %s", action);
                case QUERY_CALLER_GONE:
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "The caller left before its call was run");
                case QUERY_TIMED_OUT:
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Authorization for %s was not completed in time (%s)", action,
                                                 sd_bus_message_get_allow_interactive_authorization(m)
                                                         ? "the authentication was not answered"
                                                         : "polkit did not answer");
                default:
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Authorization for %s could not be checked: polkit is not available", action);
                }
        }

        r = caller_uid(registry, m, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot determine the caller: %s", strerror(-r));
        if (uid == 0)
                return 1;

        /* Each pending check holds the caller's message (up to 32 MiB) and one of the 128
         * calls dbus-daemon lets wgnetd have outstanding: a user may have a few, all users
         * together fewer than that, or one user with a prompt nobody answers could deny
         * every other admin. Counted per user, not per connection: a user may open 256
         * connections. */
        size_t mine = 0, total = 0;
        HASHMAP_FOREACH(q, registry->queries, it) {
                if (q->state != QUERY_PENDING)
                        continue;
                total++;
                if (q->uid == uid)
                        mine++;
        }
        if (mine >= QUERIES_PER_USER_MAX || total >= QUERIES_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many authorizations pending%s: try again when they are answered",
                                         mine >= QUERIES_PER_USER_MAX ? " for this user" : "");
        r = start_query(m, actions, n_actions, uid, registry);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Authorization for %s could not be checked: %s", actions[0], strerror(-r));
        return 0;
}
