/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The processes behind UAPI sockets: pidfds (or PIDs where pidfd_open() is missing), which
 * process holds a listening socket, whether it lives in our network namespace, waiting for
 * one to exit. Used by the userspace backend. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "proc-util.h"

static int sys_pidfd_open(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_send_signal(int pidfd, int sig) {
        return (int) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* A process to wait for and signal: through a pidfd, or where pidfd_open() is missing
 * (ENOSYS: an old kernel, or valgrind 3.19 running the daemon) through its PID. Our own
 * children cannot be confused with another process: they stay zombies until reaped. */

int proc_open(pid_t pid) {
        int fd = sys_pidfd_open(pid);
        if (fd < 0 && errno == ENOSYS)
                return PROC_NO_PIDFD;
        return fd < 0 ? negative_errno() : fd;
}

int proc_signal(int pidfd, pid_t pid, int sig) {
        return pidfd >= 0 ? sys_pidfd_send_signal(pidfd, sig) : kill(pid, sig);
}

void proc_close(int pidfd) {
        if (pidfd >= 0)
                close(pidfd);
}

uint64_t now_msec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}


/* 1: the process is in our network namespace, 0: in another, -ESRCH: it is gone (a
 * daemonized wireguard-go, as wg-quick starts it, binds its socket in a parent that exits). */
int pid_in_our_netns(pid_t pid) {
        char p[64];
        struct stat ours, theirs;

        if (pid <= 0)
                return -ESRCH;
        snprintf(p, sizeof(p), "/proc/%d/ns/net", (int) pid);
        if (stat("/proc/self/ns/net", &ours) < 0)
                return negative_errno();
        if (stat(p, &theirs) < 0)
                return -ESRCH;
        return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

/* The inode of the socket that listens on path, from this namespace's /proc/net/unix; 0
 * when none does. */
unsigned long listener_inode(const char *path) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/net/unix", "re");
        char line[PATH_MAX + 128];
        unsigned long found = 0;

        if (!f)
                return 0;
        while (!found && fgets(line, sizeof(line), f)) {
                unsigned long flags, inode;
                unsigned type, state;
                int n = 0;
                /* Num RefCount Protocol Flags Type St Inode Path */
                if (sscanf(line, "%*s %*s %*s %lx %x %x %lu %n", &flags, &type, &state, &inode, &n) < 4 || n == 0)
                        continue;
                char *name = line + n;
                name[strcspn(name, "\n")] = 0;
                if ((flags & 0x10000) && streq(name, path))     /* __SO_ACCEPTCON: listening */
                        found = inode;
        }
        return found;
}

/* Does pid hold that socket? The implementation keeps its listening socket open for its
 * whole life (a daemonized one inherits it from the binder that exited): holding it is
 * what makes a process the implementation, whatever its PID was before. A PID that went to
 * another process since never passes. */
bool pid_holds_socket(pid_t pid, unsigned long inode) {
        char path[64], want[64];

        if (pid <= 0 || inode == 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        snprintf(want, sizeof(want), "socket:[%lu]", inode);
        DIR *d = opendir(path);
        if (!d)
                return false;
        bool found = false;
        for (struct dirent *de; !found && (de = readdir(d));) {
                char target[64];
                if (de->d_name[0] == '.')
                        continue;
                ssize_t k = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (k <= 0)
                        continue;
                target[k] = 0;
                found = streq(target, want);
        }
        closedir(d);
        return found;
}

/* A process that holds that socket, 0 if none is found (every process of /proc is looked
 * at: only for a device this daemon did not start). */
pid_t find_socket_holder(unsigned long inode) {
        pid_t found = 0;

        if (inode == 0)
                return 0;
        DIR *d = opendir("/proc");
        if (!d)
                return 0;
        for (struct dirent *de; !found && (de = readdir(d));) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 0 || pid == getpid())
                        continue;
                if (pid_holds_socket((pid_t) pid, inode))
                        found = (pid_t) pid;
        }
        closedir(d);
        return found;
}

/* Has process pid exited (a child: not reaped; else: gone)? */
bool pid_exited(pid_t pid) {
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
                return si.si_pid == pid;
        return errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH;
}

/* Wait for a process to exit (see proc_open()). true if it exited. */
bool pidfd_wait(int pidfd, pid_t pid, int timeout_msec) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
        uint64_t end = now_msec() + (uint64_t) timeout_msec;
        if (pidfd == PROC_NO_PIDFD)
                for (;;) {
                        if (pid_exited(pid))
                                return true;
                        if (now_msec() >= end)
                                return false;
                        (void) poll(NULL, 0, MIN(timeout_msec, 5));
                }
        for (;;) {
                uint64_t now = now_msec();
                int left = now >= end ? 0 : (int) (end - now);
                int k = poll(&pfd, 1, left);
                if (k > 0)
                        return true;
                if (k == 0)
                        return false;
                if (errno != EINTR)
                        return false;
        }
}
