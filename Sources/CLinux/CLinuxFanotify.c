// name_to_handle_at and struct file_handle need _GNU_SOURCE, which must not leak into the
// module header.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/vfs.h>
#include "CLinuxFanotify.h"

_Static_assert(TASKREAPER_FAN_CLOSE_WRITE == FAN_CLOSE_WRITE && TASKREAPER_FAN_MOVED_FROM == FAN_MOVED_FROM
               && TASKREAPER_FAN_MOVED_TO == FAN_MOVED_TO && TASKREAPER_FAN_CREATE == FAN_CREATE
               && TASKREAPER_FAN_DELETE == FAN_DELETE && TASKREAPER_FAN_DELETE_SELF == FAN_DELETE_SELF
               && TASKREAPER_FAN_MOVE_SELF == FAN_MOVE_SELF && TASKREAPER_FAN_Q_OVERFLOW == FAN_Q_OVERFLOW
               && TASKREAPER_FAN_ONDIR == FAN_ONDIR && TASKREAPER_FAN_EVENT_INFO_TYPE_DFID_NAME == FAN_EVENT_INFO_TYPE_DFID_NAME
               && TASKREAPER_FAN_METADATA_VERSION == FANOTIFY_METADATA_VERSION, "fanotify constants");

int taskreaper_fanotify_init(int unlimited_queue) {
    return fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME
                         | (unlimited_queue ? FAN_UNLIMITED_QUEUE : 0), O_RDONLY | O_LARGEFILE);
}

int taskreaper_fanotify_mark_filesystem(int group, int fd, unsigned long long mask) {
    return fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, fd, NULL);
}

int taskreaper_directory_handle(int fd, unsigned char *out, int capacity, int *type) {
    struct {
        struct file_handle handle;
        unsigned char bytes[MAX_HANDLE_SZ];
    } buffer;
    buffer.handle.handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (name_to_handle_at(fd, "", &buffer.handle, &mount_id, AT_EMPTY_PATH) != 0) return -1;
    if ((int)buffer.handle.handle_bytes > capacity) {
        errno = EOVERFLOW;
        return -1;
    }
    memcpy(out, buffer.handle.f_handle, buffer.handle.handle_bytes);
    *type = buffer.handle.handle_type;
    return (int)buffer.handle.handle_bytes;
}

int taskreaper_filesystem_id(int fd, unsigned long long *fsid) {
    struct statfs st;
    if (fstatfs(fd, &st) != 0) return -1;
    unsigned int low, high;
    memcpy(&low, &st.f_fsid.__val[0], sizeof low);
    memcpy(&high, &st.f_fsid.__val[1], sizeof high);
    *fsid = (unsigned long long)low | ((unsigned long long)high << 32);
    return 0;
}
