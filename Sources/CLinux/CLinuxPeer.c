// struct ucred needs _GNU_SOURCE, which must not leak into the module header.
#define _GNU_SOURCE
#include <sys/socket.h>
#include "CLinuxPeer.h"

long long taskreaper_peer_pid(int fd) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return credentials.pid;
}
