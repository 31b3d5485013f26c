#ifndef TASKREAPER_CLINUX_FILES_H
#define TASKREAPER_CLINUX_FILES_H
// File and randomness calls glibc declares only under _GNU_SOURCE (renameat2) or in a
// header Swift's Glibc module does not import (sys/random.h). Wrapped in CLinuxFiles.c
// so _GNU_SOURCE never reaches the module header (see CLinux.h).
#include <stddef.h>
#include <sys/types.h>

// renameat2(..., RENAME_NOREPLACE): the rename fails with EEXIST instead of replacing
// an existing target. -1 with errno set on failure (EINVAL where the file system does
// not support the flag).
int taskreaper_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

// getrandom(buffer, length, 0), retried on EINTR and short reads: 0 when all `length`
// bytes are filled, -1 with errno set otherwise.
int taskreaper_random_bytes(void *buffer, size_t length);
#endif
