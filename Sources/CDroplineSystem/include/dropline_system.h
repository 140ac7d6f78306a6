#ifndef DROPLINE_SYSTEM_H
#define DROPLINE_SYSTEM_H

/// Starts writing the dirty pages of the open file `fd` to disk and returns without waiting for
/// them (Linux: sync_file_range with SYNC_FILE_RANGE_WRITE, which Swift's Glibc module does not
/// import). A later fsync of the file then finds less left to write; it still makes the file
/// durable, this does not. Returns 0, or an errno value (ENOSYS elsewhere than Linux).
int dropline_start_writeback(int fd);

/// The pages of the open file `fd` in the page cache that are dirty (written, not yet being
/// written to disk) and under writeback (being written), from Linux's cachestat (6.5 and later;
/// its number is given here, older headers lack it). For tests and diagnostics. Returns 0, or an
/// errno value (ENOSYS on an older kernel or elsewhere than Linux).
int dropline_page_cache_state(int fd, long long *dirty, long long *writeback);

#endif
