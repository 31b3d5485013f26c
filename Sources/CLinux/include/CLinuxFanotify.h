#ifndef TASKREAPER_CLINUX_FANOTIFY_H
#define TASKREAPER_CLINUX_FANOTIFY_H
// fanotify for `watch --events fanotify`: the group, its filesystem marks, and the file
// handle of a directory we hold open (the key its events are matched by). The record
// layouts (fanotify_event_metadata, fanotify_event_info_fid, file_handle) are parsed in
// Swift from the bytes read; the constants are here as plain integers.

// fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME
// [| FAN_UNLIMITED_QUEUE], O_RDONLY | O_LARGEFILE): the group fd, or -1 with errno (EPERM
// without CAP_SYS_ADMIN, EINVAL or ENOSYS on a kernel without name reporting).
int taskreaper_fanotify_init(int unlimited_queue);

// FAN_MARK_ADD | FAN_MARK_FILESYSTEM on the file system holding directory `fd`, for `mask`.
// 0, or -1 with errno (EXDEV, ENODEV, EOPNOTSUPP: a file system without usable file handles).
int taskreaper_fanotify_mark_filesystem(int group, int fd, unsigned long long mask);

// The file handle of the directory `fd` itself (name_to_handle_at with AT_EMPTY_PATH):
// its type into *type and its bytes into `out` (at most `capacity`). The byte count, or -1
// with errno (EOPNOTSUPP: the file system has no handles; EOVERFLOW: longer than capacity).
int taskreaper_directory_handle(int fd, unsigned char *out, int capacity, int *type);

// statfs's f_fsid of the file system holding `fd`, as fanotify reports it (val[0] in the
// low half). 0, or -1 with errno.
int taskreaper_filesystem_id(int fd, unsigned long long *fsid);

// The event bits `watch` asks for, and the ones it reads (numerically equal to inotify's
// IN_* of the same name; FAN_ONDIR is IN_ISDIR).
enum {
    TASKREAPER_FAN_CLOSE_WRITE = 0x00000008,
    TASKREAPER_FAN_MOVED_FROM = 0x00000040,
    TASKREAPER_FAN_MOVED_TO = 0x00000080,
    TASKREAPER_FAN_CREATE = 0x00000100,
    TASKREAPER_FAN_DELETE = 0x00000200,
    TASKREAPER_FAN_DELETE_SELF = 0x00000400,
    TASKREAPER_FAN_MOVE_SELF = 0x00000800,
    TASKREAPER_FAN_Q_OVERFLOW = 0x00004000,
    TASKREAPER_FAN_ONDIR = 0x40000000,
    TASKREAPER_FAN_EVENT_INFO_TYPE_DFID_NAME = 2,
    TASKREAPER_FAN_METADATA_VERSION = 3,
};
#endif
