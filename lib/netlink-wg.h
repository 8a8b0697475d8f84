/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Messages of the "wireguard" generic netlink family (<linux/wireguard.h>), built into and
 * parsed from caller-provided buffers. Pure: no sockets, no kernel, no global state; the
 * backend (backend-netlink.c) does the I/O.
 *
 * A set request (a sparse WgDevice) is cut into as many WG_CMD_SET_DEVICE messages as the
 * buffer size needs, as wireguard-tools does:
 *   - only the first message carries the device attributes (private key, listen port,
 *     fwmark) and WGDEVICE_F_REPLACE_PEERS (only if the request has
 *     WGDEVICE_REPLACE_PEERS);
 *   - a peer whose allowed IPs do not fit continues in the next message with its public
 *     key, WGPEER_F_UPDATE_ONLY if it had it, and the rest of its allowed IPs: never again
 *     WGPEER_F_REPLACE_ALLOWEDIPS, nor its other attributes;
 *   - a peer is not started at the end of a message unless at least one of its allowed
 *     IPs fits after it.
 *
 * A GET_DEVICE dump is parsed message by message into a WgDevice; a peer whose public
 * key equals the previous peer's continues it (the kernel splits a peer with many
 * allowed IPs that way). */

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wgdevice.h"

/* Larger buffers are clamped to this: netlink attribute lengths are 16 bits, and the
 * peers nest holds nearly the whole message. */
#define WG_NL_MESSAGE_MAX 65535u
/* Smallest buffer with which every request can be built (device attributes, or one peer
 * header with one allowed IP, with all their headers). */
#define WG_NL_MESSAGE_MIN 256u

/* Where the next SET_DEVICE message starts. Zero-initialise before the first call. */
typedef struct WgNlSetCursor {
        size_t peer;            /* index of the next peer to put */
        size_t allowed_ip;      /* index of its next allowed IP */
        bool peer_started;      /* its attributes went out in an earlier message */
        unsigned n_messages;    /* messages built so far */
} WgNlSetCursor;

/* Build the next WG_CMD_SET_DEVICE message (NLM_F_REQUEST|NLM_F_ACK, this seq, portid 0)
 * for the family id into buf (at most size bytes used). Returns the message length (> 0),
 * 0 when the whole request has been built, -EINVAL for a bad request (empty name, a peer
 * endpoint or allowed IP of an unknown family or with a bad prefix length, an endpoint flag
 * without an address), -EMSGSIZE when the buffer cannot hold what must go into one
 * message. */
int wg_nl_set_device_next(const WgDevice *d, uint16_t family_id, uint32_t seq,
                          void *buf, size_t size, WgNlSetCursor *cursor);

/* WG_CMD_GET_DEVICE dump request for ifname (NLM_F_REQUEST|NLM_F_DUMP: no ACK, which
 * would follow NLMSG_DONE with the same sequence number).
 * Returns the length, -EINVAL for a bad name, -EMSGSIZE if size is too small. */
int wg_nl_get_device_request(const char *ifname, uint16_t family_id, uint32_t seq,
                             void *buf, size_t size);

/* Parse one WG_CMD_GET_DEVICE message (genl header included) into d. Device attributes
 * present overwrite d's; peers are appended, or continue d's last peer when they carry
 * its public key. -EBADMSG for a malformed message (bad attribute lengths, a peer without
 * public key, an allowed IP without family, address or mask, of an unknown family, or
 * with a mask too long, an endpoint that is neither sockaddr_in nor sockaddr_in6, a
 * name that is not a NUL-terminated interface name), -ENOMEM. Unknown attributes are
 * ignored. */
int wg_nl_parse_get_device(const struct nlmsghdr *nlh, WgDevice *d);

/* Parse a buffer of dump messages (as one recv() returns them) from the family id into d.
 * Returns 1 once NLMSG_DONE is seen (anything after it is ignored), 0 if more messages
 * are to come, -EINTR if a message has NLM_F_DUMP_INTR (the dump must be restarted
 * with a fresh device), the (negative) error of an NLMSG_ERROR message (-ENODEV: no such
 * device; -EOPNOTSUPP: not a WireGuard device), -EBADMSG for a truncated or malformed
 * message or one of another type or command, -ENOMEM. */
int wg_nl_parse_dump(const void *buf, size_t len, uint16_t family_id, WgDevice *d);

/* CTRL_CMD_GETFAMILY request for the family name (GENL_ID_CTRL, NLM_F_REQUEST|NLM_F_ACK). */
int wg_nl_getfamily_request(const char *name, uint32_t seq, void *buf, size_t size);
/* Family id from a CTRL_CMD_NEWFAMILY reply buffer; the error of an NLMSG_ERROR
 * (-ENOENT: unknown family), -EBADMSG if malformed. */
int wg_nl_getfamily_parse(const void *buf, size_t len, uint16_t *ret_family_id);
