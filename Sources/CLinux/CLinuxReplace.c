// renameat2, RENAME_EXCHANGE and O_PATH need _GNU_SOURCE, which must not leak into the
// module header.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include "CLinuxReplace.h"

int taskreaper_rename_exchange(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_EXCHANGE);
}

int taskreaper_open_path(int dirfd, const char *name) {
    return openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}
