import Foundation

/// One run per zone root: an exclusive `flock` on `state/run.lock`. The kernel drops the lock
/// when the holding process dies (kill -9, reboot), so a stale lock never blocks the next run.
public final class RunLock {
    let fd: Int32

    public init(zone: DropZone) throws {
        let path = zone.state + "/run.lock"
        fd = open(path, O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else { throw RunError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw RunError.locked("another dropline run holds the lock on \(zone.root); try again after it finishes")
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { Foundation.write(fd, $0, strlen($0)) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
