// renameat2 and RENAME_NOREPLACE need _GNU_SOURCE, which must not leak into the module header.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include "CLinuxFiles.h"

int taskreaper_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

int taskreaper_random_bytes(void *buffer, size_t length) {
    size_t filled = 0;
    while (filled < length) {
        ssize_t n = getrandom((char *)buffer + filled, length - filled, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        filled += (size_t)n;
    }
    return 0;
}
