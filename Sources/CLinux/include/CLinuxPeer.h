#ifndef TASKREAPER_CLINUX_PEER_H
#define TASKREAPER_CLINUX_PEER_H
// SO_PEERCRED's pid of a connected unix socket (the process that connected); -1 on failure.
// The control socket limits connections per client process with it.
long long taskreaper_peer_pid(int fd);
#endif
