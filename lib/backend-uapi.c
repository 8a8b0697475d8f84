/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The userspace backend: wireguard-go (or a compatible implementation) per interface,
 * driven over its UAPI socket SOCKET_DIR/IF.sock.
 *
 * The socket directory is shared by every network namespace, so a name is only ours when
 * the process listening on the socket (SO_PEERCRED) lives in our network namespace.
 *
 * Gets and sets keep their connection for the next exchange with the same interface
 * (wireguard-go serves any number of requests on one connection): connecting, the
 * namespace check and the implementation's accept cost about a third of a one-peer set. A
 * kept connection is used again only while the other side has not closed it; a failed
 * exchange closes it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend-internal.h"
#include "macro.h"
#include "proc-util.h"
#include "uapi.h"

#define UAPI_IO_TIMEOUT_SEC 60
#define UAPI_START_TIMEOUT_MSEC 5000
#define UAPI_STOP_TIMEOUT_MSEC 3000
#define UAPI_KILL_TIMEOUT_MSEC 2000
#define UAPI_REPLY_MAX (256u * 1024 * 1024)

typedef struct UapiChild {
        char name[IFNAMSIZ];
        pid_t pid;
        int pidfd;
} UapiChild;

/* An idle connection, kept after a successful exchange. */
typedef struct UapiConn {
        char name[IFNAMSIZ];
        int fd;
} UapiConn;

#define UAPI_CONNS_MAX 64

typedef struct UapiPriv {
        UapiChild *children;
        size_t n_children;
        UapiConn conns[UAPI_CONNS_MAX];
        size_t n_conns;
} UapiPriv;

static int socket_path(WgBackend *b, const char *ifname, struct sockaddr_un *ret) {
        memset(ret, 0, sizeof(*ret));
        ret->sun_family = AF_UNIX;
        int k = snprintf(ret->sun_path, sizeof(ret->sun_path), "%s/%s.sock", b->socket_dir, ifname);
        if (k < 0 || (size_t) k >= sizeof(ret->sun_path))
                return -ENAMETOOLONG;
        return 0;
}

/* Connect to the socket of ifname. -ENODEV if nobody listens, -EADDRINUSE if the listener
 * is in another network namespace. *ret_pid: the process that listens, 0 when it is not
 * known (the binder exited). */
static int uapi_open(WgBackend *b, const char *ifname, int *ret_fd, pid_t *ret_pid) {
        struct sockaddr_un sa;
        struct ucred cred;
        socklen_t l = sizeof(cred);
        int r;

        r = socket_path(b, ifname, &sa);
        if (r < 0)
                return r;
        _cleanup_(closep) int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        /* Before connect(): it blocks, without a limit of its own, while the listener's
         * backlog is full (an implementation that hangs and no longer accepts). */
        struct timeval tv = { .tv_sec = UAPI_IO_TIMEOUT_SEC };
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR)
                        return -ENODEV;
                if (errno == EAGAIN || errno == EINPROGRESS)
                        return -ETIMEDOUT;
                return negative_errno();
        }
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0)
                return negative_errno();
        r = pid_in_our_netns(cred.pid);
        /* In another namespace, unless it is not the implementation at all: the binder of a
         * daemonized one exited and its PID went to some other process. */
        if (r == 0 && !pid_holds_socket(cred.pid, listener_inode(sa.sun_path)))
                r = -ESRCH;
        if (r < 0) {
                cred.pid = 0;
                /* The binder is gone: the device is ours when its tun link is in our
                 * namespace (links are per namespace, sockets are not). */
                uint32_t ifindex;
                r = rtnl_link_ifindex(b->rtnl, ifname, &ifindex) >= 0;
        }
        if (r == 0)
                return -EADDRINUSE;

        if (ret_pid)
                *ret_pid = cred.pid;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Our device only: one in another namespace is not there for us. */
static int uapi_open_own(WgBackend *b, const char *ifname, int *ret_fd, pid_t *ret_pid) {
        int r = uapi_open(b, ifname, ret_fd, ret_pid);
        return r == -EADDRINUSE ? -ENODEV : r;
}

/* Forget ifname's kept connection, if any. */
static void conn_drop(WgBackend *b, const char *ifname) {
        UapiPriv *p = b->priv;
        for (size_t i = 0; i < p->n_conns; i++)
                if (streq(p->conns[i].name, ifname)) {
                        close(p->conns[i].fd);
                        p->conns[i] = p->conns[--p->n_conns];
                        return;
                }
}

/* A connection to ifname for one exchange: the kept one when the other side has not closed
 * it (nothing may be readable on an idle connection), else a new one. */
static int conn_take(WgBackend *b, const char *ifname, int *ret_fd) {
        UapiPriv *p = b->priv;
        for (size_t i = 0; i < p->n_conns; i++) {
                if (!streq(p->conns[i].name, ifname))
                        continue;
                int fd = p->conns[i].fd;
                p->conns[i] = p->conns[--p->n_conns];
                struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };
                if (poll(&pfd, 1, 0) == 0) {
                        *ret_fd = fd;
                        return 0;
                }
                close(fd);
                break;
        }
        return uapi_open_own(b, ifname, ret_fd, NULL);
}

/* Keep fd, after a complete and successful exchange, for ifname's next one. */
static void conn_put(WgBackend *b, const char *ifname, int fd) {
        UapiPriv *p = b->priv;
        conn_drop(b, ifname);
        if (p->n_conns >= UAPI_CONNS_MAX) {
                close(fd);
                return;
        }
        UapiConn *c = &p->conns[p->n_conns++];
        snprintf(c->name, sizeof(c->name), "%s", ifname);
        c->fd = fd;
}

static int uapi_send(int fd, const char *req, size_t req_len) {
        for (size_t off = 0; off < req_len;) {
                ssize_t k = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
                }
                off += (size_t) k;
        }
        return 0;
}

/* Read a reply up to its empty line. The reply may hold secrets. */
static int uapi_recv(int fd, char **ret, size_t *ret_len) {
        char *buf = NULL;
        size_t n = 0, alloc = 0;
        int r;

        for (;;) {
                if (alloc - n < 4096) {
                        size_t na = alloc ? alloc * 2 : 16384;
                        if (na > UAPI_REPLY_MAX) {
                                r = -EMSGSIZE;
                                goto fail;
                        }
                        char *nb = malloc(na);
                        if (!nb) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        if (buf) {
                                memcpy(nb, buf, n);
                                wg_wipe_free(buf, alloc);
                        }
                        buf = nb;
                        alloc = na;
                }
                ssize_t k = recv(fd, buf + n, alloc - n - 1, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = errno == EAGAIN ? -ETIMEDOUT : negative_errno();
                        goto fail;
                }
                if (k == 0) {
                        r = -ECONNRESET;
                        goto fail;
                }
                n += (size_t) k;
                if (uapi_reply_complete(buf, n))
                        break;
        }
        buf[n] = 0;
        *ret = buf;
        *ret_len = alloc;   /* what to wipe */
        return (int) n;

fail:
        if (buf)
                wg_wipe_free(buf, alloc);
        return r;
}

/* Send a request, read the reply up to its empty line. */
static int uapi_transact(int fd, const char *req, size_t req_len, char **ret, size_t *ret_len) {
        int r = uapi_send(fd, req, req_len);
        if (r < 0)
                return r;
        return uapi_recv(fd, ret, ret_len);
}

/* A set that the implementation refused at an early line: wireguard-go answers errno= at
 * once and closes, so a request larger than the socket buffer fails to send with EPIPE or
 * ECONNRESET. The answer is still there to read: its errno (EADDRINUSE for a listen port
 * another program holds) says more than the broken pipe. */
static int uapi_send_set(int fd, const char *req, size_t req_len) {
        char *reply = NULL;
        size_t alloc = 0;
        int r = uapi_send(fd, req, req_len);
        if (r != -EPIPE && r != -ECONNRESET)
                return r;
        int k = uapi_recv(fd, &reply, &alloc);
        if (k < 0)
                return r;
        int q = uapi_parse_set_reply(reply, (size_t) k, NULL);
        wg_wipe_free(reply, alloc);
        return q < 0 ? q : r;
}

static int uapi_get_device(WgBackend *b, const char *ifname, WgDevice **ret) {
        _cleanup_(closep) int fd = -EBADF;
        char *reply = NULL;
        size_t alloc = 0;
        const char *req = uapi_format_get();
        WgDevice *d = NULL;
        int r;

        r = conn_take(b, ifname, &fd);
        if (r < 0)
                return r;
        r = uapi_transact(fd, req, strlen(req), &reply, &alloc);
        if (r < 0)
                return r;
        r = uapi_parse_get_reply(reply, (size_t) r, ifname, &d, NULL);
        wg_wipe_free(reply, alloc);
        if (r < 0)
                return r;
        conn_put(b, ifname, TAKE_FD(fd));
        (void) rtnl_link_ifindex(b->rtnl, ifname, &d->ifindex);
        *ret = d;
        return 0;
}

static int uapi_set_device(WgBackend *b, const WgDevice *d) {
        _cleanup_(closep) int fd = -EBADF;
        char *req = NULL, *reply = NULL;
        size_t req_len = 0, alloc = 0;
        int r;

        r = uapi_format_set(d, &req, &req_len);
        if (r < 0)
                return r;
        r = conn_take(b, d->name, &fd);
        if (r >= 0)
                r = uapi_send_set(fd, req, req_len);
        wg_wipe_free(req, req_len + 1);
        if (r >= 0)
                r = uapi_recv(fd, &reply, &alloc);
        if (r < 0)
                return r;
        r = uapi_parse_set_reply(reply, (size_t) r, NULL);
        wg_wipe_free(reply, alloc);
        if (r >= 0)
                conn_put(b, d->name, TAKE_FD(fd));
        return r;
}

/* The set in two steps: the request goes out now, the answer is read in set_finish. */
static int uapi_set_send(WgBackend *b, const WgDevice *d, int *ret_fd) {
        _cleanup_(closep) int fd = -EBADF;
        char *req = NULL;
        size_t req_len = 0;
        int r;

        r = uapi_format_set(d, &req, &req_len);
        if (r < 0)
                return r;
        r = conn_take(b, d->name, &fd);
        if (r >= 0)
                r = uapi_send_set(fd, req, req_len);
        wg_wipe_free(req, req_len + 1);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int uapi_set_recv(WgBackend *b, const char *ifname, int fd) {
        _cleanup_(closep) int owned = fd;
        char *reply = NULL;
        size_t alloc = 0;
        int r = uapi_recv(fd, &reply, &alloc);
        if (r < 0)
                return r;
        r = uapi_parse_set_reply(reply, (size_t) r, NULL);
        wg_wipe_free(reply, alloc);
        if (r >= 0)
                conn_put(b, ifname, TAKE_FD(owned));
        return r;
}

static UapiChild *child_find(UapiPriv *p, const char *ifname) {
        for (size_t i = 0; i < p->n_children; i++)
                if (streq(p->children[i].name, ifname))
                        return &p->children[i];
        return NULL;
}

static void child_forget(UapiPriv *p, UapiChild *c) {
        proc_close(c->pidfd);
        size_t i = (size_t) (c - p->children);
        memmove(c, c + 1, (p->n_children - i - 1) * sizeof(*c));
        p->n_children--;
}

__attribute__((noreturn)) static void child_exec(WgBackend *b, const char *ifname) {
        sigset_t ss;
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        int log = b->userspace_log_fd >= 0 ? b->userspace_log_fd : null;

        /* a clean signal state: blocked or ignored signals survive exec */
        sigemptyset(&ss);
        sigprocmask(SIG_SETMASK, &ss, NULL);
        for (int s = 1; s < _NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        (void) signal(s, SIG_DFL);
        (void) setsid();
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(log, STDOUT_FILENO) < 0 ||
            dup2(log, STDERR_FILENO) < 0)
                _exit(126);
        (void) syscall(SYS_close_range, 3U, ~0U, 0U);
        if (setenv("WG_PROCESS_FOREGROUND", "1", 1) < 0)
                _exit(126);
        execlp(b->userspace_binary, b->userspace_binary, ifname, (char *) NULL);
        _exit(127);
}

static int uapi_create(WgBackend *b, const char *ifname) {
        UapiPriv *p = b->priv;
        _cleanup_(closep) int fd = -EBADF;
        int r, status;

        conn_drop(b, ifname);
        r = uapi_open(b, ifname, &fd, NULL);
        if (r >= 0)
                return -EEXIST;
        if (r != -ENODEV)
                return r;
        if (rtnl_link_ifindex(b->rtnl, ifname, NULL) >= 0)
                return -EEXIST;

        UapiChild *nc = realloc(p->children, (p->n_children + 1) * sizeof(UapiChild));
        if (!nc)
                return -ENOMEM;
        p->children = nc;

        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                child_exec(b, ifname);

        int pidfd = proc_open(pid);
        if (pidfd < 0 && pidfd != PROC_NO_PIDFD) {
                r = pidfd;
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }

        /* Wait until the socket answers, from this very process. */
        uint64_t end = now_msec() + UAPI_START_TIMEOUT_MSEC;
        for (;;) {
                pid_t owner = 0;
                _cleanup_(closep) int cfd = -EBADF;

                if (pidfd_wait(pidfd, pid, 0)) {
                        (void) waitpid(pid, &status, 0);
                        proc_close(pidfd);
                        /* lost a race for the name? */
                        r = uapi_open(b, ifname, &cfd, NULL);
                        if (r == -EADDRINUSE)
                                return r;
                        if (r >= 0)
                                return -EEXIST;
                        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                                return -ENOENT;
                        return -EIO;
                }
                r = uapi_open(b, ifname, &cfd, &owner);
                if (r >= 0 && owner == pid) {
                        char *reply = NULL;
                        size_t alloc = 0;
                        const char *req = uapi_format_get();
                        r = uapi_transact(cfd, req, strlen(req), &reply, &alloc);
                        if (r >= 0) {
                                wg_wipe_free(reply, alloc);
                                break;
                        }
                }
                if (now_msec() >= end) {
                        (void) proc_signal(pidfd, pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                        proc_close(pidfd);
                        return -ETIMEDOUT;
                }
                (void) pidfd_wait(pidfd, pid, 10);
        }

        UapiChild *c = &p->children[p->n_children++];
        memset(c, 0, sizeof(*c));
        snprintf(c->name, sizeof(c->name), "%s", ifname);
        c->pid = pid;
        c->pidfd = pidfd;
        return 0;
}

static int uapi_delete(WgBackend *b, const char *ifname) {
        UapiPriv *p = b->priv;
        _cleanup_(closep) int fd = -EBADF, own_pidfd = -EBADF;
        struct sockaddr_un sa;
        pid_t pid = 0;
        int r, pidfd = -EBADF;
        bool gone;

        conn_drop(b, ifname);
        r = uapi_open_own(b, ifname, &fd, &pid);
        if (r < 0 && r != -ENODEV)
                return r;
        if (fd >= 0) {          /* only the PID was needed */
                close(fd);
                fd = -EBADF;
        }
        UapiChild *c = child_find(p, ifname);
        if (r == -ENODEV && !c)
                return -ENODEV;
        if (c && (pid == 0 || pid == c->pid)) {
                pid = c->pid;
                pidfd = c->pidfd;
        } else {
                /* Not started here: signalled only while it holds the listening socket,
                 * checked after its pidfd is open (a PID reused before that is caught by the
                 * check, one reused after cannot get the signal). The socket's PID may be a
                 * daemonized implementation's exited binder: then the holder is looked for. */
                unsigned long inode = socket_path(b, ifname, &sa) >= 0 ? listener_inode(sa.sun_path) : 0;
                for (int attempt = 0; attempt < 2; attempt++) {
                        if (attempt == 1)
                                pid = find_socket_holder(inode);
                        if (pid <= 0)
                                continue;
                        pidfd = proc_open(pid);
                        if (pidfd < 0 && pidfd != -ESRCH && pidfd != PROC_NO_PIDFD)
                                return pidfd;
                        if (pidfd != -ESRCH && pid_holds_socket(pid, inode))
                                break;
                        if (pidfd >= 0)
                                close(pidfd);
                        pidfd = -EBADF;
                        pid = 0;
                }
                if (pidfd >= 0)
                        own_pidfd = pidfd;
        }
        gone = pidfd == -ESRCH;         /* it exited meanwhile */

        /* Deleting the tun link makes the implementation exit. */
        r = rtnl_link_delete(b->rtnl, ifname);
        if (r < 0 && r != -ENODEV)
                return r;
        if (pid == 0) {
                /* No process is known to hold the socket (it is exiting, or its listener
                 * cannot be seen from here): never signal a PID that is not known to be
                 * it; wait until the socket stops answering. */
                uint64_t end = now_msec() + UAPI_STOP_TIMEOUT_MSEC;
                for (;;) {
                        _cleanup_(closep) int t = -EBADF;
                        if (uapi_open(b, ifname, &t, NULL) == -ENODEV)
                                break;
                        if (now_msec() >= end)
                                return -ETIMEDOUT;
                        (void) usleep(10000);
                }
                gone = true;
        } else if (!gone) {
                if (r == -ENODEV)
                        (void) proc_signal(pidfd, pid, SIGTERM);
                gone = pidfd_wait(pidfd, pid, UAPI_STOP_TIMEOUT_MSEC);
                if (!gone) {
                        (void) proc_signal(pidfd, pid, SIGKILL);
                        gone = pidfd_wait(pidfd, pid, UAPI_KILL_TIMEOUT_MSEC);
                }
        }
        /* our child: reap it now if it is gone, else wg_backend_reap() will */
        if (c && c->pid == pid && waitpid(pid, NULL, WNOHANG) == pid)
                child_forget(p, c);
        if (!gone)
                return -ETIMEDOUT;

        /* A killed implementation leaves its socket behind. */
        if (socket_path(b, ifname, &sa) >= 0) {
                _cleanup_(closep) int t = -EBADF;
                if (uapi_open(b, ifname, &t, NULL) == -ENODEV)
                        (void) unlink(sa.sun_path);
        }
        return 0;
}

static bool uapi_exists(WgBackend *b, const char *ifname) {
        _cleanup_(closep) int fd = -EBADF;
        return uapi_open_own(b, ifname, &fd, NULL) >= 0;
}

static int strv_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int uapi_list(WgBackend *b, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0;
        DIR *dir;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        dir = opendir(b->socket_dir);
        if (!dir) {
                if (errno != ENOENT)
                        return negative_errno();
                *ret = TAKE_PTR(l);
                return 0;
        }
        for (struct dirent *de; (de = readdir(dir));) {
                size_t len = strlen(de->d_name);
                char name[IFNAMSIZ];
                if (len <= 5 || len - 5 >= IFNAMSIZ || !streq(de->d_name + len - 5, ".sock"))
                        continue;
                memcpy(name, de->d_name, len - 5);
                name[len - 5] = 0;
                if (!uapi_exists(b, name))
                        continue;
                char **nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl) {
                        closedir(dir);
                        return -ENOMEM;
                }
                l = nl;
                l[n] = strdup(name);
                if (!l[n]) {
                        closedir(dir);
                        return -ENOMEM;
                }
                l[++n] = NULL;
        }
        closedir(dir);
        qsort(l, n, sizeof(char *), strv_compare);
        *ret = TAKE_PTR(l);
        return 0;
}

static int uapi_reap(WgBackend *b) {
        UapiPriv *p = b->priv;
        int count = 0;

        for (size_t i = 0; i < p->n_children;) {
                UapiChild *c = &p->children[i];
                pid_t k = waitpid(c->pid, NULL, WNOHANG);
                if (k == c->pid || (k < 0 && errno == ECHILD)) {
                        child_forget(p, c);
                        count++;
                } else
                        i++;
        }
        return count;
}

static int uapi_init(WgBackend *b) {
        UapiPriv *p = calloc(1, sizeof(UapiPriv));
        if (!p)
                return -ENOMEM;
        b->priv = p;
        return 0;
}

/* The implementations keep running (like kernel devices): a restarted daemon finds them
 * through their sockets. */
static void uapi_done(WgBackend *b) {
        UapiPriv *p = b->priv;
        if (!p)
                return;
        for (size_t i = 0; i < p->n_children; i++)
                proc_close(p->children[i].pidfd);
        for (size_t i = 0; i < p->n_conns; i++)
                close(p->conns[i].fd);
        free(p->children);
        free(p);
        b->priv = NULL;
}

const WgBackendOps wg_backend_userspace_ops = {
        .init = uapi_init,
        .done = uapi_done,
        .get_device = uapi_get_device,
        .set_device = uapi_set_device,
        .set_send = uapi_set_send,
        .set_recv = uapi_set_recv,
        .create = uapi_create,
        .delete = uapi_delete,
        .exists = uapi_exists,
        .list = uapi_list,
        .reap = uapi_reap,
};
