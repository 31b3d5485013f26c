#ifndef TASKREAPER_CLINUX_H
#define TASKREAPER_CLINUX_H
// Linux interfaces the Swift Glibc module does not export: epoll, signalfd, pidfd
// (glibc 2.36+), the inotify event layout, and SO_PEERCRED's struct ucred.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/pidfd.h>
#include <sys/inotify.h>
#include <signal.h>
#include <stddef.h>

// sigaddset et al. are macros in some glibc configurations: give Swift functions.
static inline int taskreaper_block_signals(const int *signals, int count, sigset_t *set) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
    return sigprocmask(SIG_BLOCK, set, NULL);
}

// Whether `signal` is pending for this thread or process (blocked, not yet read).
static inline int taskreaper_signal_pending(int signal) {
    sigset_t set;
    if (sigpending(&set) != 0) return 0;
    return sigismember(&set, signal) == 1;
}

// accept4 without the transparent-union address argument Swift cannot pass nil to.
static inline int taskreaper_accept(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

// SO_PEERCRED's uid of a connected unix socket; -1 on failure.
static inline long long taskreaper_peer_uid(int fd) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return credentials.uid;
}
#endif
