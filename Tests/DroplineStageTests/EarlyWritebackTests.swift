@testable import DroplineLoad
import Foundation
import Testing

struct EarlyWritebackTests {
    /// Whether this kernel tells a file's dirty pages (Linux 6.5 and later): without it nothing
    /// here can be observed.
    static let observable = EarlyWriteback.pageCacheState(path: "/proc/self/exe") != nil

    /// 16 MiB written and not synced: Linux leaves such pages dirty in memory for up to 30 s
    /// (while less than a tenth of memory is dirty); started by the thread, they are written
    /// within a few of its rounds.
    /// `inFolder`: the file is found in a folder given to watch, not named.
    @Test(.enabled(if: observable), arguments: [false, true])
    func writtenPagesAreOnTheirWayToDiskWithoutASync(inFolder: Bool) throws {
        let dir = NSTemporaryDirectory() + "dropline-writeback-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/growing"
        // Plain writes: Foundation's `Data.write` syncs what it wrote.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        let chunk = [UInt8](repeating: 0x41, count: 1 << 20)
        for _ in 0..<16 { #expect(chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == chunk.count) }
        close(fd)
        let before = try #require(EarlyWriteback.pageCacheState(path: path))
        #expect(before.dirty > 0, "the kernel wrote the file on its own already: nothing to show")

        // A file that does not exist is passed over, round after round.
        let writeback = inFolder ? EarlyWriteback(paths: [], folders: [dir + "/not-yet", dir], every: 0.02) : EarlyWriteback(paths: [dir + "/not-yet", path], every: 0.02)
        var after = before
        let deadline = Date(timeIntervalSinceNow: 20)
        while Date() < deadline {
            after = try #require(EarlyWriteback.pageCacheState(path: path))
            if after.dirty == 0 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        writeback.stop()
        #expect(after.dirty == 0, "\(after.dirty) of \(before.dirty) pages still dirty")
        #expect(writeback.started >= 1)
    }

    @Test func stoppingEndsTheThreadAndIsIdempotent() {
        let writeback = EarlyWriteback(paths: ["/nonexistent/dropline"], every: 3600)
        // The thread waits an hour between rounds: stop must wake it, not wait the hour out.
        let started = Date()
        writeback.stop()
        writeback.stop()
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(writeback.started == 0)
    }
}
