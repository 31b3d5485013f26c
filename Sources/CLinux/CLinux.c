// struct ucred, accept4 and statx need _GNU_SOURCE, which must not leak into the module header.
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <errno.h>
#include <stddef.h>
#include "CLinux.h"

int taskreaper_accept(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

long long taskreaper_peer_uid(int fd) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return credentials.uid;
}

int taskreaper_status(int dirfd, const char *path, int flags, struct taskreaper_file_status *out) {
    const char *name = path ? path : "";
    int how = path ? flags : flags | AT_EMPTY_PATH;
    struct statx sx;
    if (statx(dirfd, name, how, STATX_BASIC_STATS | STATX_BTIME, &sx) == 0) {
        out->mode = sx.stx_mode;
        out->uid = sx.stx_uid;
        out->gid = sx.stx_gid;
        out->size = (long long)sx.stx_size;
        // The same number stat's st_dev gives, so identities compare across both paths.
        out->device = makedev(sx.stx_dev_major, sx.stx_dev_minor);
        out->inode = sx.stx_ino;
        out->links = sx.stx_nlink;
        out->mtime_sec = sx.stx_mtime.tv_sec;
        out->mtime_nsec = sx.stx_mtime.tv_nsec;
        out->ctime_sec = sx.stx_ctime.tv_sec;
        out->ctime_nsec = sx.stx_ctime.tv_nsec;
        out->has_btime = (sx.stx_mask & STATX_BTIME) != 0;
        out->btime_sec = out->has_btime ? sx.stx_btime.tv_sec : 0;
        out->btime_nsec = out->has_btime ? sx.stx_btime.tv_nsec : 0;
        return 0;
    }
    if (errno != ENOSYS) return -1;
    struct stat st;
    if (fstatat(dirfd, name, &st, how) != 0) return -1;
    out->mode = st.st_mode;
    out->uid = st.st_uid;
    out->gid = st.st_gid;
    out->size = (long long)st.st_size;
    out->device = st.st_dev;
    out->inode = st.st_ino;
    out->links = st.st_nlink;
    out->mtime_sec = st.st_mtim.tv_sec;
    out->mtime_nsec = st.st_mtim.tv_nsec;
    out->ctime_sec = st.st_ctim.tv_sec;
    out->ctime_nsec = st.st_ctim.tv_nsec;
    out->has_btime = 0;
    out->btime_sec = 0;
    out->btime_nsec = 0;
    return 0;
}
