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
        guard fd >= 0 else { throw RunError.io("cannot open \(path): \(ErrorText.system(errno))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            let who = Self.holder(zone: zone).map { " (" + $0.description + ")" } ?? ""
            throw RunError.locked("another dropline run holds the lock on \(zone.root)\(who); try again after it finishes")
        }
        recoveredFromPID = Self.pid(in: fd)
        ftruncate(fd, 0)
        let own = "\(getpid())\n"
        _ = own.withCString { Foundation.write(fd, $0, strlen($0)) }
    }

    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// The run holding a zone's lock: the PID it wrote and when (the lock file's modification
    /// time, a moment after it took the lock).
    public struct Holder: Sendable, CustomStringConvertible {
        public var pid: Int32
        public var since: Date

        public var description: String { "pid \(pid), since \(ISO8601DateFormatter().string(from: since))" }
    }

    /// Who holds the zone's lock now, nil when nobody does. Asked without touching the lock,
    /// not even for an instant (a status probe must never make a starting run exit 75): a run
    /// writes its PID into the file once it holds the lock and empties it at a clean release, so
    /// a PID there that is still alive is the holder; a dead one is a run that died.
    public static func holder(zone: DropZone) -> Holder? {
        let fd = open(zone.state + "/run.lock", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard let pid = pid(in: fd), kill(pid, 0) == 0 || errno == EPERM, fstat(fd, &info) == 0 else { return nil }
        return Holder(pid: pid, since: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)))
    }

    /// The PID written in the lock file, if any.
    static func pid(in fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, 31, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
