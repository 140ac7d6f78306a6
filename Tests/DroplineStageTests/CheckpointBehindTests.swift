@testable import DroplineLoad
import Foundation
import GRDB
import Testing

struct CheckpointBehindTests {
    func database() throws -> (DatabaseQueue, String) {
        try walDatabase("c", schema: "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    }

    /// About 10 MB in one transaction: some 2,500 pages of 4 KiB in the log.
    func load(_ queue: DatabaseQueue, from first: Int) throws {
        let text = String(repeating: "x", count: 4000)
        try queue.write { db in
            for k in first..<(first + 2500) { try db.execute(sql: "INSERT INTO t (k, v) VALUES (?, ?)", arguments: [k, text]) }
        }
    }

    /// The bytes of the database file itself, and the pages it should hold.
    func fileAndPages(_ queue: DatabaseQueue, _ dir: String) throws -> (file: Int, pages: Int) {
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/c.sqlite")[.size] as? Int ?? 0
        let pages = try queue.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! * Int.fetchOne(db, sql: "PRAGMA page_size")! }
        return (size, pages)
    }

    @Test func aLargeCommitIsCheckpointedByTheThreadNotTheCommit() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A threshold no commit reaches: the commit itself must not checkpoint either (SQLite's
        // own checkpoint would have, past 1,000 pages).
        let idle = try #require(queue.writeWithoutTransaction { CheckpointBehind(on: $0, frames: 1_000_000) })
        try load(queue, from: 0)
        var (file, pages) = try fileAndPages(queue, dir)
        #expect(file < pages / 2, "the commit checkpointed: \(file) bytes of \(pages) in the file")
        queue.writeWithoutTransaction { _ in idle.stop() }
        #expect(idle.checkpoints == 0)

        let behind = try #require(queue.writeWithoutTransaction { CheckpointBehind(on: $0) })
        try load(queue, from: 2500)
        queue.writeWithoutTransaction { _ in behind.stop() }
        #expect(behind.checkpoints >= 1)
        (file, pages) = try fileAndPages(queue, dir)
        #expect(file >= pages, "after the checkpoint the file holds every page: \(file) bytes of \(pages)")
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 5000)
    }

    /// Stopped, the connection checkpoints on its own again: no hook is left pointing at it.
    @Test func stoppedTheConnectionCheckpointsItself() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var behind = try #require(queue.writeWithoutTransaction { CheckpointBehind(on: $0, frames: 1_000_000) })
        queue.writeWithoutTransaction { _ in behind.stop() }
        behind.stop()
        behind = try #require(queue.writeWithoutTransaction { CheckpointBehind(on: $0, frames: 1_000_000) })
        queue.writeWithoutTransaction { _ in behind.stop() }
        try load(queue, from: 0)
        let (file, pages) = try fileAndPages(queue, dir)
        #expect(file >= pages, "\(file) bytes of \(pages)")
        #expect(behind.checkpoints == 0)
    }
}
