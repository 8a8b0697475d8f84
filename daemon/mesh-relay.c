/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Meshes: the relay between a control connection's TCP socket and the socketpair that sd-bus
 * gets, the proof of keys that opens it, and the bound on the messages that come in
 * (docs/mesh.md, "The coordination channel").
 *
 * The proof. A connection's source address is not enough: any local user of a member host
 * can connect from that member's mesh address, and any local user of the coordinator's host
 * can listen on the control port while wgnetd does not. So before a byte of D-Bus passes,
 * each side proves that it holds the WireGuard private key of its end of the tunnel, the key
 * only wgnetd can open:
 *
 *   both sides, at once:    "wgnetMC1" | nonce (32 random bytes) | own public key
 *   then, both:             BLAKE2b-256(key = K, role | member's nonce | coordinator's nonce)
 *   K = BLAKE2b-256(key = X25519(own private key, other public key),
 *                   "wgnet mesh control 1" | member's public key | coordinator's public key)
 *
 * role is 'M' for the member's proof and 'C' for the coordinator's, so one side's proof is
 * never the other's. The coordinator takes the member's public key only when it is the key
 * of the peer that owns the connection's source address (its key, or the new key of a
 * registration still taking over; before the registration it is the invitation's one-time
 * key, whose private half only the joiner has); the member takes only the coordinator's key
 * from its invitation. A member sends nothing of D-Bus before the coordinator's proof is
 * checked; the coordinator hands the connection to sd-bus only after the member's. */

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-util.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "peer.h"
#include "mesh-internal.h"

#define AUTH_MAGIC "wgnetMC1"
#define AUTH_MAGIC_LEN 8
#define AUTH_HELLO_LEN (AUTH_MAGIC_LEN + MESH_AUTH_NONCE_LEN + WG_KEY_LEN)
#define AUTH_PROOF_LEN 32
#define AUTH_LABEL "wgnet mesh control 1"

void relay_free(MeshRelay *r) {
        Mesh *mesh = r->mesh;
        if (r->prev)
                r->prev->next = r->next;
        else
                mesh->relays = r->next;
        if (r->next)
                r->next->prev = r->prev;
        for (int i = 0; i < 2; i++) {
                r->src[i] = sd_event_source_disable_unref(r->src[i]);
                if (r->fd[i] >= 0)
                        close(r->fd[i]);
        }
        if (r->bus_fd >= 0)
                close(r->bus_fd);
        r->timeout = sd_event_source_disable_unref(r->timeout);
        /* The buffers carried the preshared key of a registration; the key proves. */
        sodium_memzero(r, sizeof(*r));
        free(r);
}

static void relay_update(MeshRelay *r) {
        bool open = r->auth == RELAY_AUTH_DONE;
        for (int i = 0; i < 2; i++) {
                uint32_t ev = 0;
                /* Before the proof: the TCP side is read for the handshake only, sd-bus's
                 * side not at all (nothing of D-Bus goes out before the other side proved). */
                if (i == 0 && !open && !r->eof[0])
                        ev |= EPOLLIN;
                else if (r->len[i] == 0 && !r->eof[i] && (open || i == 0))
                        ev |= EPOLLIN;
                if (r->len[1 - i] > 0)
                        ev |= EPOLLOUT;
                (void) sd_event_source_set_io_events(r->src[i], ev);
                (void) sd_event_source_set_enabled(r->src[i], ev ? SD_EVENT_ON : SD_EVENT_OFF);
        }
}

/* Write what buf[from] holds to fd[1 - from]: 0 when done or it would block, negative on
 * an error. */
static int relay_flush(MeshRelay *r, int from) {
        while (r->len[from] > 0) {
                ssize_t n = write(r->fd[1 - from], r->buf[from] + r->off[from], r->len[from]);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR || errno == ENOTCONN ? 0 : -errno;
                r->off[from] += (size_t) n;
                r->len[from] -= (size_t) n;
        }
        r->off[from] = 0;
        if (r->eof[from])
                (void) shutdown(r->fd[1 - from], SHUT_WR);
        return 0;
}

/* Queue handshake bytes toward the other side (buf[1] goes to the TCP socket). */
static void relay_send(MeshRelay *r, const void *p, size_t n) {
        memcpy(r->buf[1] + r->off[1] + r->len[1], p, n);
        r->len[1] += n;
}

static void relay_proof(const MeshRelay *r, char role, uint8_t out[AUTH_PROOF_LEN]) {
        crypto_generichash_state st;
        crypto_generichash_init(&st, r->key, sizeof(r->key), AUTH_PROOF_LEN);
        crypto_generichash_update(&st, (const uint8_t *) &role, 1);
        crypto_generichash_update(&st, r->nonce[0], MESH_AUTH_NONCE_LEN);
        crypto_generichash_update(&st, r->nonce[1], MESH_AUTH_NONCE_LEN);
        crypto_generichash_final(&st, out, AUTH_PROOF_LEN);
        sodium_memzero(&st, sizeof(st));
}

/* The other side's hello: which key it must prove, K from our private key and that key,
 * our proof out. */
static int relay_got_hello(MeshRelay *r) {
        Mesh *mesh = r->mesh;
        Network *n = mesh->network;
        const uint8_t *key = r->in + AUTH_MAGIC_LEN + MESH_AUTH_NONCE_LEN;
        const uint8_t *member_key, *coordinator_key;
        uint8_t priv[WG_KEY_LEN], shared[32], proof[AUTH_PROOF_LEN];
        char buf[IP_PREFIX_STRLEN];
        int q;

        if (memcmp(r->in, AUTH_MAGIC, AUTH_MAGIC_LEN) != 0)
                return -EPROTO;
        memcpy(r->nonce[r->coordinator ? 0 : 1], r->in + AUTH_MAGIC_LEN, MESH_AUTH_NONCE_LEN);
        if (r->coordinator) {
                Peer *p = find_peer_by_address(n, &r->remote);
                if (!p || !mesh_peer_get(mesh, p->id) ||
                    !(wg_key_equal(key, p->public_key) || (p->rotation_pending && wg_key_equal(key, p->pending_public_key)))) {
                        log_debug("%s: mesh connection from %s: no member with that address and key", n->name,
                                  ip_addr_to_string(&r->remote, buf));
                        return -EPERM;
                }
                r->peer_id = p->id;
                member_key = key;
                coordinator_key = n->public_key;
        } else {
                if (!wg_key_equal(key, mesh->coordinator_key)) {
                        log_notice("%s: the mesh control port answered with another key than the coordinator's", n->name);
                        return -EPERM;
                }
                member_key = n->public_key;
                coordinator_key = key;
        }
        q = manager_open(n->manager, "networks.private_key", n->id, n->private_key_sealed, sizeof(n->private_key_sealed),
                         priv);
        if (q < 0)
                return q;
        q = crypto_scalarmult(shared, priv, key) == 0 ? 0 : -EPERM;
        sodium_memzero(priv, sizeof(priv));
        if (q >= 0) {
                crypto_generichash_state st;
                crypto_generichash_init(&st, shared, sizeof(shared), sizeof(r->key));
                crypto_generichash_update(&st, (const uint8_t *) AUTH_LABEL, strlen(AUTH_LABEL));
                crypto_generichash_update(&st, member_key, WG_KEY_LEN);
                crypto_generichash_update(&st, coordinator_key, WG_KEY_LEN);
                crypto_generichash_final(&st, r->key, sizeof(r->key));
                sodium_memzero(&st, sizeof(st));
        }
        sodium_memzero(shared, sizeof(shared));
        if (q < 0)
                return q;
        relay_proof(r, r->coordinator ? 'C' : 'M', proof);
        relay_send(r, proof, sizeof(proof));
        r->auth = RELAY_AUTH_PROOF;
        return 0;
}

static int relay_got_proof(MeshRelay *r) {
        Network *n = r->mesh->network;
        uint8_t want[AUTH_PROOF_LEN];
        char buf[IP_PREFIX_STRLEN];

        relay_proof(r, r->coordinator ? 'M' : 'C', want);
        int bad = sodium_memcmp(want, r->in, AUTH_PROOF_LEN);
        sodium_memzero(want, sizeof(want));
        sodium_memzero(r->key, sizeof(r->key));
        if (bad != 0) {
                if (r->coordinator)
                        log_info("%s: mesh connection from %s refused: no proof of the member's key", n->name,
                                 ip_addr_to_string(&r->remote, buf));
                else
                        log_notice("%s: the mesh control port did not prove the coordinator's key: not talking to it",
                                   n->name);
                return -EPERM;
        }
        r->auth = RELAY_AUTH_DONE;
        r->timeout = sd_event_source_disable_unref(r->timeout);
        if (r->coordinator)
                return coordinator_conn_new(r);
        return 0;
}

/* Read the handshake, never past it (what follows is D-Bus, for sd-bus). */
static int relay_auth_read(MeshRelay *r) {
        size_t need = r->auth == RELAY_AUTH_HELLO ? AUTH_HELLO_LEN : AUTH_PROOF_LEN;
        ssize_t n = read(r->fd[0], r->in + r->in_len, need - r->in_len);
        if (n == 0)
                return -ECONNRESET;
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        r->in_len += (size_t) n;
        if (r->in_len < need)
                return 0;
        r->in_len = 0;
        return r->auth == RELAY_AUTH_HELLO ? relay_got_hello(r) : relay_got_proof(r);
}

static uint32_t read_u32(const uint8_t *p, bool little) {
        return little ? (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24
                      : (uint32_t) p[3] | (uint32_t) p[2] << 8 | (uint32_t) p[1] << 16 | (uint32_t) p[0] << 24;
}

static int unhex_digit(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "AUTH ANONYMOUS", optionally with a trace: hex of printable ASCII, which sd-bus's server
 * (anonymous allowed) answers with OK whatever it says. */
static bool auth_line_ok(const char *l, size_t n) {
        static const char a[] = "AUTH ANONYMOUS";
        size_t k = sizeof(a) - 1;
        if (n < k || memcmp(l, a, k) != 0)
                return false;
        if (n == k)
                return true;
        if (l[k] != ' ' || (n - k - 1) == 0 || (n - k - 1) % 2 != 0)
                return false;
        for (size_t i = k + 1; i < n; i += 2) {
                int hi = unhex_digit(l[i]), lo = unhex_digit(l[i + 1]);
                if (hi < 0 || lo < 0 || hi * 16 + lo < 0x20 || hi * 16 + lo > 0x7e)
                        return false;
        }
        return true;
}

/* One line of the client's (the server's side: the coordinator). Only what a wgnetd member's
 * sd-bus sends is taken: AUTH ANONYMOUS, NEGOTIATE_UNIX_FD once, BEGIN; anything else
 * closes the connection. The relay and sd-bus must agree where the messages start: sd-bus
 * answers a BEGIN before a successful AUTH, or a line it does not know, with ERROR and goes
 * on reading lines, and a relay that took such a BEGIN as the end would follow made-up
 * message lengths while sd-bus reads lines, then a message of any length. */
static int client_line(RelayFraming *f) {
        const char *l = f->line;
        size_t n = f->line_len;
        if (!f->authed) {
                if (!auth_line_ok(l, n))
                        return -EBADMSG;
                f->authed = true;
        } else if (n == 17 && memcmp(l, "NEGOTIATE_UNIX_FD", 17) == 0 && !f->negotiated)
                f->negotiated = true;
        else if (n == 5 && memcmp(l, "BEGIN", 5) == 0)
                f->messages = true;
        else
                return -EBADMSG;
        return 0;
}

/* Follow the D-Bus stream that comes in: the authentication lines (the client's end with
 * BEGIN, the server's with OK), then messages, each of which declares its length in its
 * first 16 bytes. Negative when one declares more than the cap, or the stream is no D-Bus:
 * sd-bus would take up to 128 MiB a message. Lines end with CRLF, as sd-bus reads them. */
int relay_frame(RelayFraming *f, const uint8_t *p, size_t n) {
        while (n > 0) {
                if (!f->messages) {
                        uint8_t c = *p++;
                        n--;
                        if (++f->text_len > 4096)
                                return -EBADMSG;
                        if (f->server && f->text_len == 1) {
                                if (c != 0)
                                        return -EBADMSG;
                                continue;
                        }
                        if (c == '\n') {
                                if (f->line_len == 0 || f->line[MIN(f->line_len, sizeof(f->line)) - 1] != '\r')
                                        return -EBADMSG;        /* sd-bus ends lines at CRLF only */
                                f->line_len--;
                                if (f->server) {
                                        if (f->line_len >= sizeof(f->line))
                                                return -EBADMSG;
                                        int r = client_line(f);
                                        if (r < 0)
                                                return r;
                                } else if (f->line_len >= 3 && memcmp(f->line, "OK ", 3) == 0)
                                        f->messages = true;
                                f->line_len = 0;
                        } else if (f->line_len++ < sizeof(f->line))
                                f->line[f->line_len - 1] = (char) c;
                        else if (f->server)
                                return -EBADMSG;        /* longer than any line of ours */
                        continue;
                }
                if (f->rest > 0) {
                        size_t k = (size_t) MIN((uint64_t) n, f->rest);
                        f->rest -= k;
                        p += k;
                        n -= k;
                        continue;
                }
                size_t k = MIN(n, sizeof(f->header) - f->header_len);
                memcpy(f->header + f->header_len, p, k);
                f->header_len += k;
                p += k;
                n -= k;
                if (f->header_len < sizeof(f->header))
                        continue;
                f->header_len = 0;
                if (f->header[0] != 'l' && f->header[0] != 'B')
                        return -EBADMSG;
                bool little = f->header[0] == 'l';
                uint64_t fields = read_u32(f->header + 12, little), body = read_u32(f->header + 4, little);
                uint64_t total = ((16 + fields + 7) & ~(uint64_t) 7) + body;
                if (total > f->max)
                        return -EMSGSIZE;
                f->rest = total - sizeof(f->header);
        }
        return 0;
}

static int on_relay_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        MeshRelay *r = userdata;
        Network *n = r->mesh->network;
        int i = fd == r->fd[0] ? 0 : 1, k = 0;
        bool in = revents & (EPOLLIN | EPOLLHUP | EPOLLERR);

        if (revents & EPOLLOUT)
                k = relay_flush(r, 1 - i);
        if (k >= 0 && in && i == 0 && r->auth != RELAY_AUTH_DONE) {
                k = relay_auth_read(r);
                if (k >= 0)
                        k = relay_flush(r, 1);
        } else if (k >= 0 && in && r->len[i] == 0 && !r->eof[i]) {
                ssize_t l = read(fd, r->buf[i], sizeof(r->buf[i]));
                if (l > 0) {
                        r->len[i] = (size_t) l;
                        if (i == 0)
                                k = relay_frame(&r->framing, r->buf[0], (size_t) l);
                        if (k >= 0)
                                k = relay_flush(r, i);
                } else if (l == 0) {
                        r->eof[i] = true;
                        k = relay_flush(r, i);
                } else if (errno != EAGAIN && errno != EINTR)
                        k = -errno;
        }
        if (k == -EMSGSIZE || k == -EBADMSG) {
                char buf[IP_PREFIX_STRLEN];
                log_notice("%s: closing a mesh control connection%s%s: %s (more than %" PRIu64 " bytes a message)",
                           n->name, r->coordinator ? " from " : "",
                           r->coordinator ? ip_addr_to_string(&r->remote, buf) : "",
                           k == -EMSGSIZE ? "a message too long" : "not a D-Bus stream", r->framing.max);
        }
        /* An error, or either side closed with nothing left to pass on: both go (sd-bus
         * then sees its end close, and the peer its TCP connection). */
        if (k < 0 || (r->eof[0] && r->len[0] == 0) || (r->eof[1] && r->len[1] == 0)) {
                relay_free(r);
                return 0;
        }
        relay_update(r);
        return 0;
}

static int on_relay_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        MeshRelay *r = userdata;
        char buf[IP_PREFIX_STRLEN];
        log_debug("%s: mesh control connection%s%s: no proof in time", r->mesh->network->name,
                  r->coordinator ? " from " : "", r->coordinator ? ip_addr_to_string(&r->remote, buf) : "");
        relay_free(r);
        return 0;
}

/* Relay tcp_fd (taken, also when this fails) into a new socketpair, behind the handshake.
 * Member (remote NULL): *ret_fd is the end for sd-bus at once (its bytes wait for the
 * coordinator's proof). Coordinator (remote: the member's address): the end for sd-bus is
 * handed to coordinator_conn_new() once the member proved its key; ret_fd is unused. */
int relay_new(Mesh *mesh, int tcp_fd, const IpPrefix *remote, int *ret_fd) {
        Manager *mgr = mesh->network->manager;
        int pair[2], q;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0) {
                q = -errno;
                close(tcp_fd);
                return q;
        }
        MeshRelay *r = calloc(1, sizeof(MeshRelay));
        if (!r) {
                close(tcp_fd);
                close(pair[0]);
                close(pair[1]);
                return -ENOMEM;
        }
        r->mesh = mesh;
        r->fd[0] = tcp_fd;
        r->fd[1] = pair[0];
        r->bus_fd = -1;
        r->coordinator = remote != NULL;
        if (remote)
                r->remote = *remote;
        r->created = now_monotonic_usec();
        r->framing.server = r->coordinator;
        r->framing.max = r->coordinator ? MESH_MESSAGE_MAX_FROM_MEMBER : MESH_MESSAGE_MAX_FROM_COORDINATOR;
        r->next = mesh->relays;
        if (mesh->relays)
                mesh->relays->prev = r;
        mesh->relays = r;

        /* Our hello goes out at once (after the connect, on the member's side). */
        uint8_t *own = r->nonce[r->coordinator ? 1 : 0];
        randombytes_buf(own, MESH_AUTH_NONCE_LEN);
        relay_send(r, AUTH_MAGIC, AUTH_MAGIC_LEN);
        relay_send(r, own, MESH_AUTH_NONCE_LEN);
        relay_send(r, mesh->network->public_key, WG_KEY_LEN);

        q = sd_event_add_io(mgr->event, &r->src[0], r->fd[0], EPOLLIN | EPOLLOUT, on_relay_io, r);
        if (q >= 0)
                q = sd_event_add_io(mgr->event, &r->src[1], r->fd[1], 0, on_relay_io, r);
        if (q >= 0)
                q = sd_event_add_time_relative(mgr->event, &r->timeout, CLOCK_MONOTONIC, MESH_AUTH_TIMEOUT_USEC, 100000,
                                               on_relay_timeout, r);
        if (q < 0) {
                relay_free(r);
                close(pair[1]);
                return q;
        }
        relay_update(r);
        if (ret_fd && !r->coordinator)
                *ret_fd = pair[1];
        else
                r->bus_fd = pair[1];
        return 0;
}
