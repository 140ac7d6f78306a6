#ifndef DROPLINE_SQLITE_H
#define DROPLINE_SQLITE_H

/// Process-wide SQLite settings that only C can reach (sqlite3_config is variadic).
/// Call before the first connection opens; returns 0 when applied.
int dropline_sqlite_configure(void);

#endif
