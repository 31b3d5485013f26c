// struct ucred and accept4 need _GNU_SOURCE, which must not leak into the module header.
#define _GNU_SOURCE
#include <sys/socket.h>
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
