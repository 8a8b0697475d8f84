/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A process to wait for and signal: through a pidfd, or where pidfd_open() is missing
 * (ENOSYS: an old kernel, or valgrind 3.19 running the daemon) through its PID. */
#define PROC_NO_PIDFD (-2)      /* pidfd value: watched by PID */
int proc_open(pid_t pid);
int proc_signal(int pidfd, pid_t pid, int sig);
void proc_close(int pidfd);
/* Wait for a process to exit (see proc_open()). true if it exited. */
bool pidfd_wait(int pidfd, pid_t pid, int timeout_msec);
/* Has process pid exited (a child: not reaped; else: gone)? */
bool pid_exited(pid_t pid);
uint64_t now_msec(void);

/* 1: the process is in our network namespace, 0: in another, -ESRCH: it is gone. */
int pid_in_our_netns(pid_t pid);
/* The inode of the socket that listens on path (this namespace's /proc/net/unix), 0 if none. */
unsigned long listener_inode(const char *path);
/* Does pid hold that socket? */
bool pid_holds_socket(pid_t pid, unsigned long inode);
/* A process that holds that socket, 0 if none is found. */
pid_t find_socket_holder(unsigned long inode);
