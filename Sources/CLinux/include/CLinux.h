#ifndef TASKREAPER_CLINUX_H
#define TASKREAPER_CLINUX_H
// Linux interfaces the Swift Glibc module does not export: epoll, signalfd, pidfd
// (glibc 2.36+), and the inotify event layout.
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
#endif
