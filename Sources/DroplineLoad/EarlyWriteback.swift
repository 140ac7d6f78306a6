import CDroplineSystem
import Foundation

/// Has the kernel write the files a run is filling to disk while the run goes on, so that the
/// fsync that makes each durable finds little left to write. Linux keeps written pages in memory
/// for up to 30 s (or until a tenth of memory is dirty) before it starts writing them: at the end
/// of the 1 GB night, the commit's fdatasync of the write-ahead log waited 2.5 s for the last
/// of its 1.6 GB, the checkpoint's fsync of the database file 2.9 s for the pages it had just
/// copied, each alone on the run's path to its end. Every `interval`, a thread of its own starts
/// the writing of each file's dirty pages (`dropline_start_writeback`: it does not wait for them);
/// the syncs stay where they are, and durability is theirs alone.
///
/// A file that does not exist (yet, or any more) is passed over; each round opens and closes the
/// files it starts, so a file deleted meanwhile is not kept alive by it. `folders`: every file
/// directly in them, as each round finds them (the files a run makes as it goes: reject lists
/// and cut-out records, whose fsync before the commit waited 0.18 s for the 22 MB of the 100 MB
/// night's rejects). Elsewhere than Linux it does nothing. `stop()` ends the thread
/// (idempotent); until then the thread keeps it alive.
public final class EarlyWriteback: @unchecked Sendable {
    let paths: [String]
    let folders: [String]
    let interval: TimeInterval
    /// Guards `stopping`.
    let state = NSCondition()
    var stopping = false
    let finished = DispatchSemaphore(value: 0)
    /// Files whose writing was started, all rounds together (for tests; read it after `stop()`,
    /// which orders the thread's writes before the read).
    public private(set) var started = 0

    public init(paths: [String], folders: [String] = [], every interval: TimeInterval = 0.25) {
        self.paths = paths
        self.folders = folders
        self.interval = interval
        #if os(Linux)
        let thread = Thread { [self] in loop() }
        thread.name = "dropline-writeback"
        thread.start()
        #else
        finished.signal()
        #endif
    }

    func loop() {
        while true {
            state.lock()
            if !stopping { _ = state.wait(until: Date(timeIntervalSinceNow: interval)) }
            let stop = stopping
            state.unlock()
            if stop { break }
            let found = folders.flatMap { folder in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).map { folder + "/" + $0 } }
            for path in paths + found {
                // Not a folder's subfolder, nor anything a link points to.
                let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
                guard fd >= 0 else { continue }
                if dropline_start_writeback(fd) == 0 { started += 1 }
                close(fd)
            }
        }
        finished.signal()
    }

    /// Ends the thread after the round in progress.
    public func stop() {
        state.lock()
        let wasStopping = stopping
        stopping = true
        state.signal()
        state.unlock()
        if !wasStopping { finished.wait() }
    }

    /// The pages of the file at `path` in the page cache that are dirty and under writeback;
    /// nil where the kernel cannot tell (before Linux 6.5, elsewhere than Linux) or there is no
    /// such file. For tests and diagnostics.
    public static func pageCacheState(path: String) -> (dirty: Int, writeback: Int)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var dirty: Int64 = 0, writeback: Int64 = 0
        guard dropline_page_cache_state(fd, &dirty, &writeback) == 0 else { return nil }
        return (Int(dirty), Int(writeback))
    }
}
