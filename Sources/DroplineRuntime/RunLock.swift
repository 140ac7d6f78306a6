import Foundation

/// One run per zone root: an exclusive `flock` on `state/run.lock`. The kernel drops the lock
/// when the holding process dies (kill -9, reboot), so a stale lock never blocks the next run.
public final class RunLock {
    let fd: Int32
    /// PID written by a run that died holding the lock (the file is emptied on a clean release).
    public private(set) var recoveredFromPID: Int32?

    public init(zone: DropZone) throws {
        let path = zone.state + "/run.lock"
        fd = open(path, O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else { throw RunError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw RunError.locked("another dropline run holds the lock on \(zone.root); try again after it finishes")
        }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, 31, 0)
        if n > 0, let previous = Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) {
            recoveredFromPID = previous
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { Foundation.write(fd, $0, strlen($0)) }
    }

    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
