#ifndef TASKREAPER_CSYSTEMD_SHIM_H
#define TASKREAPER_CSYSTEMD_SHIM_H
// sd_journal_sendv (not the variadic sd_journal_send, which Swift cannot call),
// sd-daemon for sd_notify/sd_listen_fds. (`watch` runs its own epoll loop: its parts are
// tested in-process without an sd-event.)
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>
#include <systemd/sd-daemon.h>
#endif
