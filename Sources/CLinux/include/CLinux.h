#ifndef TASKREAPER_CLINUX_H
#define TASKREAPER_CLINUX_H
// Linux interfaces the Swift Glibc module does not export: epoll, signalfd, pidfd
// (glibc 2.36+), the inotify event layout, malloc_trim, accept4, SO_PEERCRED and statx (and, in CLinuxFiles.h,
// renameat2 RENAME_NOREPLACE and getrandom). No _GNU_SOURCE here:
// it would make this module's libc types differ from Swift's Glibc module; what needs it
// lives in CLinux.c and CLinuxFiles.c.
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/pidfd.h>
#include <sys/inotify.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include "CLinuxFiles.h"

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

// accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC): Swift cannot pass nil for
// its transparent-union address argument.
int taskreaper_accept(int fd);

// SO_PEERCRED's uid of a connected unix socket; -1 on failure.
long long taskreaper_peer_uid(int fd);

// What taskreaper needs of a file's status, with the birth time when the file system
// reports one (statx, STATX_BTIME). Plain types: struct statx needs _GNU_SOURCE.
struct taskreaper_file_status {
    unsigned int mode;
    unsigned int uid;
    unsigned int gid;
    long long size;
    unsigned long long device;
    unsigned long long inode;
    unsigned long long links;
    long long mtime_sec, mtime_nsec;
    long long ctime_sec, ctime_nsec;
    long long btime_sec, btime_nsec;
    int has_btime;
};

// statx(dirfd, path, flags) into `out`; path NULL means the fd itself (AT_EMPTY_PATH).
// Falls back to fstatat where statx is missing (ENOSYS: an old kernel or a seccomp
// filter), without a birth time. 0, or -1 with errno set.
int taskreaper_status(int dirfd, const char *path, int flags, struct taskreaper_file_status *out);

#include "CLinuxReplace.h"
#include "CLinuxPeer.h"
#include "CLinuxFanotify.h"
#endif
