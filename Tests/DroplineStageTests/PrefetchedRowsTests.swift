import DroplineCore
@testable import DroplineLoad
import Foundation
import GRDB
import Testing

/// Rows stepped on another thread must read as the statement's own rows: every column's bytes,
/// NULL apart from the empty text, integers, in order across batches; a failing step is thrown
/// after the rows before it, and an error of the caller's stops the reading.
struct PrefetchedRowsTests {
    func database() throws -> (DatabaseQueue, String) {
        let (queue, dir) = try walDatabase("p", schema: "CREATE TABLE t (i INTEGER PRIMARY KEY, a TEXT, n INTEGER, b TEXT)")
        try queue.write { db in
            for i in 1...1_000 {
                let a: String? = i % 7 == 0 ? nil : i % 11 == 0 ? "" : "té\(i)-\(String(repeating: "x", count: i % 50))"
                let n: Int64? = i == 998 ? Int64.max : i == 997 ? Int64.min : i % 5 == 0 ? nil : i % 3 == 0 ? -Int64(i) * 1_000_000_007 : Int64(i)
                try db.execute(sql: "INSERT INTO t (i, a, n, b) VALUES (?, ?, ?, ?)", arguments: [i, a, n, "<&\"\(i)\">"])
            }
        }
        return (queue, dir)
    }

    func text(_ b: UnsafeBufferPointer<UInt8>?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }

    @Test(arguments: [1, 3, 64, 5_000])
    func rowsReadAsTheStatementReadsThem(_ rowsPerBatch: Int) throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sql = "SELECT i, a, n, b FROM t WHERE i >= ? ORDER BY i"
        var direct: [[String?]] = []
        try queue.read { db in
            let s = try RawStatement(db, sql)
            s.bind(Int64(2))
            while try s.step() { direct.append([s.int64(0).map(String.init), text(s.bytes(1)), s.int64(2).map(String.init), text(s.bytes(3))]) }
        }
        let reader = try #require(ReadConnection(path: dir + "/p.sqlite"))
        let s = try reader.prepare(sql)
        s.bind(Int64(2))
        var prefetched: [[String?]] = []
        try PrefetchedRows(s, columns: 4, rowsPerBatch: rowsPerBatch).forEach { r in
            prefetched.append([r.int64(0).map(String.init), text(r.bytes(1)), r.int64(2).map(String.init), text(r.bytes(3))])
        }
        #expect(direct.count == 999)
        #expect(prefetched == direct)
        // NULL and the empty text stay apart; the largest integer survives.
        #expect(prefetched.contains { $0[1] == nil } && prefetched.contains { $0[1] == "" } && prefetched.contains { $0[2] == String(Int64.max) } && prefetched.contains { $0[2] == String(Int64.min) })
    }

    @Test func aFailingStepIsThrownAfterTheRowsBeforeIt() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = queue
        let reader = try #require(ReadConnection(path: dir + "/p.sqlite"))
        // abs() of the smallest integer overflows: a runtime error at row 500.
        let s = try reader.prepare("SELECT i, CASE WHEN i = 500 THEN abs(-9223372036854775807 - 1) ELSE i END FROM t ORDER BY i")
        var seen = 0
        #expect(throws: DatabaseError.self) {
            try PrefetchedRows(s, columns: 2, rowsPerBatch: 64).forEach { _ in seen += 1 }
        }
        #expect(seen == 499, "\(seen) rows before the failing one")
    }

    @Test func theCallersErrorStopsTheReading() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = queue
        struct Stop: Error {}
        let reader = try #require(ReadConnection(path: dir + "/p.sqlite"))
        let s = try reader.prepare("SELECT i FROM t ORDER BY i")
        var seen = 0
        #expect(throws: Stop.self) {
            try PrefetchedRows(s, columns: 1, rowsPerBatch: 8).forEach { _ in
                seen += 1
                if seen == 20 { throw Stop() }
            }
        }
        #expect(seen == 20)
        // The statement is free again: reset, it reads from the start on this thread.
        s.reset()
        #expect(try s.step() && s.int64(0) == 1)
    }
}
