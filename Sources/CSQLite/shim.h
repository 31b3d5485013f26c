#ifndef TASKREAPER_CSQLITE_SHIM_H
#define TASKREAPER_CSQLITE_SHIM_H
// The system SQLite (Debian's libsqlite3-dev), the library the harness's rusqlite also
// speaks to the same file format with. Called directly rather than through GRDB: GRDB
// always opens with SQLITE_OPEN_CREATE (we must never create aft.db), cannot pass
// SQLITE_OPEN_NOFOLLOW, and pulls Foundation into a daemon that otherwise avoids it
// (+5 ms start-up, +7 MiB RSS, measured).
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import.
static inline void (*taskreaper_sqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }
#endif
