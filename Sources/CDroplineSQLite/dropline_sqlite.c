#include <sqlite3.h>
#include "dropline_sqlite.h"

int dropline_sqlite_configure(void) {
    // Allocation statistics take a global mutex on every malloc inside SQLite; Dropline never
    // reads them (sqlite3_memory_used is not called), so they are switched off.
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
