#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "dropline_system.h"

int dropline_start_writeback(int fd) {
#ifdef __linux__
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0 ? 0 : errno;
#else
    (void)fd;
    return ENOSYS;
#endif
}

int dropline_page_cache_state(int fd, long long *dirty, long long *writeback) {
#ifdef __linux__
    // struct cachestat_range and struct cachestat of <linux/mman.h>, syscall 451 on every
    // architecture (the generic table and x86-64 alike).
    struct { uint64_t off, len; } range = {0, 0};
    struct { uint64_t cache, dirty, writeback, evicted, recently_evicted; } state = {0};
    if (syscall(451, fd, &range, &state, 0) != 0) return errno;
    *dirty = (long long)state.dirty;
    *writeback = (long long)state.writeback;
    return 0;
#else
    (void)fd; (void)dirty; (void)writeback;
    return ENOSYS;
#endif
}
