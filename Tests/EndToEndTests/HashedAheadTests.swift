@testable import DroplineRuntime
import Foundation
import Testing

/// A reject file hashed ahead of its manifest (`ManifestWriter.HashedAhead`) is taken only while
/// it is still the file that was hashed; any change makes the manifest hash it again.
struct HashedAheadTests {
    func hashed(_ path: String) throws -> ManifestWriter.HashedAhead {
        try #require(ManifestWriter.HashedAhead(path) { p in
            let d = try FileDigest.sha256(path: p)
            return RunManifest.FileHash(path: p, bytes: d.bytes, sha256: d.hex)
        })
    }

    @Test func aFileHashedAheadHoldsOnlyUntilItChanges() throws {
        let dir = NSTemporaryDirectory() + "hashed-ahead-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/rejects.xml"
        try Data("<Rejects/>\n".utf8).write(to: URL(fileURLWithPath: path))
        let ahead = try hashed(path)
        #expect(ahead.hash.sha256 == (try FileDigest.sha256(path: path)).hex)
        #expect(ahead.holds(for: path))
        // Appended to.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(" ".utf8))
        try handle.close()
        #expect(!ahead.holds(for: path))
        // Replaced by a file of the same size (another inode).
        let again = try hashed(path)
        let other = dir + "/other.xml"
        try Data("<Rejectz/>\n ".utf8).write(to: URL(fileURLWithPath: other))
        #expect(rename(other, path) == 0)
        #expect(!again.holds(for: path))
        // Rewritten in place with the same size, a moment later (its modification time).
        let third = try hashed(path)
        Thread.sleep(forTimeInterval: 0.05)
        let rewrite = try #require(FileHandle(forWritingAtPath: path))
        try rewrite.write(contentsOf: Data("<Rejectq/>\n ".utf8))
        try rewrite.close()
        #expect(!third.holds(for: path))
        // Gone.
        let fourth = try hashed(path)
        try FileManager.default.removeItem(atPath: path)
        #expect(!fourth.holds(for: path))
        #expect(ManifestWriter.HashedAhead(path) { _ in throw CocoaError(.fileNoSuchFile) } == nil)
    }
}
