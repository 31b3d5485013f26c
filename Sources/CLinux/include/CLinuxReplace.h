#ifndef TASKREAPER_CLINUX_REPLACE_H
#define TASKREAPER_CLINUX_REPLACE_H
// What a checked replace (TaskReaperSystem/CheckedReplace.swift) needs beyond Swift's Glibc
// module: renameat2 and O_PATH are declared only under _GNU_SOURCE, so they are wrapped in
// CLinuxReplace.c (see CLinux.h for why _GNU_SOURCE stays out of headers).

// renameat2(RENAME_EXCHANGE): swaps the two names atomically; both must exist, neither file
// is unlinked. -1 with errno set on failure: EINVAL where the file system does not implement
// the flag (NFS, FUSE without support), ENOSYS on a kernel without renameat2, ENOENT when
// either name is missing.
int taskreaper_rename_exchange(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

// openat(O_PATH | O_NOFOLLOW | O_CLOEXEC): holds any entry (link, FIFO, device, socket) open
// without opening the object itself, so without side effects and without blocking.
int taskreaper_open_path(int dirfd, const char *name);
#endif
