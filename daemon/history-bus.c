/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Peer.GetTransferHistory (in peer_vtable): read access, no secrets, no polkit. */
#include <inttypes.h>

#include "bus-util.h"
#include "history.h"
#include "manager.h"
#include "network.h"
#include "peer.h"

/* The step is rounded up to whole buckets; the answer has at most one point per stored
 * bucket (2016 five-minute or 2160 hourly ones by default). A retention of years would let
 * one call return a million points: a range that can hold more than 10,000 is refused,
 * naming since and step and the smallest step that fits. */
int peer_method_get_transfer_history(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        Manager *mgr = p->network->manager;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) HistoryPoint *points = NULL;
        uint64_t since, step, now = now_usec();
        size_t n = 0;
        int r;

        r = sd_bus_message_read(m, "tt", &since, &step);
        if (r < 0)
                return r;
        if (mgr->history) {
                uint64_t max_points, min_step;
                if (history_query_check(mgr->history, since, step, now, &max_points, &min_step) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid since %" PRIu64 " and step %" PRIu64 ": up to %" PRIu64
                                                 " points, at most %u; give a later since or a step of at least %"
                                                 PRIu64 " µs", since, step, max_points, HISTORY_QUERY_POINTS_MAX,
                                                 min_step);
                r = history_query(mgr->history, p->id, since, step, now, &points, &n);
                if (r == -E2BIG)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid since %" PRIu64 " and step %" PRIu64 ": more than %u points "
                                                 "stored; give a later since or a larger step",
                                                 since, step, 2 * HISTORY_QUERY_POINTS_MAX);
                if (r < 0)
                        return bus_reply_errno(error, r, "Cannot read the transfer history of peer '%s'", p->name);
        }
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ttt)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(ttt)", points[i].time, points[i].rx, points[i].tx);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
