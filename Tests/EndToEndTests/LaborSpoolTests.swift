@testable import DroplineRuntime
import DroplineCore
import DroplineLoad
import DroplineTesting
import Foundation
import GRDB
import Testing

/// The labor lines a run gathers as it writes postings (`LaborSpool`) are, byte for byte, the
/// lines read back from the warehouse (`LaborBody.selected`), with the same count, sums and
/// origins, through commits and rollbacks, in memory and written out; and the spool refuses
/// (so the file is read back) whenever it is not exactly the reserved postings.
struct LaborSpoolTests {
    /// A warehouse of the current version in a folder of its own; the caller removes the folder.
    func warehouse() throws -> (DatabaseQueue, String) {
        let dir = NSTemporaryDirectory() + "labor-spool-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (try Warehouse.open(path: dir + "/warehouse.sqlite"), dir)
    }

    /// Inserts `count` postings numbered from `from` as the posting stage does, in one unit of
    /// work that commits unless `fail` (then it throws after the last insert and rolls back).
    /// `origin`: every posting's, instead of one per 700.
    func post(_ queue: DatabaseQueue, spool: LaborSpool, from: Int, count: Int, synchronous: Bool = false, fail: Bool = false, origin: Int64? = nil) throws {
        struct Abandoned: Error {}
        do {
            try queue.unitOfWork(dryRun: false, spool: spool) { db in
                let writes = WriteBehind(statements: [try RawStatement(db, TimePostingStage.Write.postingInsert.sql)], synchronous: synchronous,
                                         observe: [0], observer: spool.observer)
                defer { writes.close() }
                for i in from..<(from + count) {
                    try writes.row(0) { r in
                        // Ids that need escaping, reversals, negative and large amounts, NULLs.
                        r.text(i % 11 == 0 ? "TE-\(i)&<\"x>" : "TE-\(i)")
                        r.integer(Int64(i % 4 + 1))
                        r.integer(i % 4 == 1 ? 1 : nil)
                        r.text("P\(100_000 + i % 37)")
                        r.text("ERP-\(i % 13)")
                        r.text(i % 3 == 0 ? "NONBILL" : "BILL")
                        r.date(BusinessDate(dayNumber: BusinessDate(iso: "2026-01-05")!.dayNumber + i % 300))
                        r.text("2026-\(zeroPad(i % 12 + 1, 2))")
                        let sign = i % 4 == 1 ? "-" : ""
                        r.text("\(sign)\(i % 9).\(zeroPad(i % 4 * 25, 2))")
                        r.integer(Int64(i % 9 * 100 + i % 4 * 25) * (sign.isEmpty ? 1 : -1))
                        r.text("\(sign)\(i * 37 % 100_000).\(zeroPad(i % 100, 2))")
                        r.text("\(sign)\(i * 91 % 10_000_000).00")
                        r.text(i % 5 == 0 ? "USD" : "EUR")
                        r.text("billable")
                        r.text(nil)
                        r.date(nil)
                        r.text(nil)
                        r.text(nil)
                        r.text(nil)
                        // A file's postings stand together; held ones come back to earlier origins.
                        r.integer(origin ?? Int64(i / 700 % 3 + 1))
                        r.integer(Int64(i))
                        r.text("TS-\(i / 10)")
                    }
                }
                try writes.finish()
                if fail { throw Abandoned() }
            }
        } catch is Abandoned {}
    }

    /// The file body the warehouse gives for postings `first...last`, as `writeLabor` reads it.
    func readBack(_ queue: DatabaseQueue, first: Int64, last: Int64) throws -> (bytes: [UInt8], body: LaborBody, origins: Set<Int64>) {
        var body = LaborBody()
        var bytes: [UInt8] = []
        var origins = Set<Int64>()
        try queue.read { db in
            let s = try RawStatement(db, "SELECT n, entry_id, reverses, pernr, erp_project, labor_class, posting_date, period, hours, cost_amount, bill_amount, currency, origin FROM posting_row WHERE seq BETWEEN ? AND ? ORDER BY seq")
            s.bind(first, last)
            defer { s.reset() }
            try PrefetchedRows(s, columns: 13).forEach { r in
                if let o = try body.append(r, LaborBody.selected) { origins.insert(o) }
            }
        }
        bytes = body.out
        return (bytes, body, origins)
    }

    func spooled(_ spool: LaborSpool, first: Int64, last: Int64) throws -> (bytes: [UInt8], body: LaborBody, origins: Set<Int64>)? {
        var bytes: [UInt8] = []
        guard let lines = try spool.lines(first: first, last: last, { bytes += $0 }) else { return nil }
        return (bytes, lines.body, lines.origins)
    }

    /// A labor file's header, as long as every one of the day up to the 999th.
    let header = OutboundQueue.laborHeader(name: "ERP_LABOR_1000_20261128_001.xml", company: "1000", createdAt: "2026-11-28T02:00:00+01:00")

    /// A warehouse given 4,900 postings through commits and rollbacks (more than was written
    /// out since the commit, and less), and the spool told of them (room for `header`, written
    /// out past `flushBytes`); with the lines the warehouse then gives. The caller removes `dir`.
    func spoolThroughRollbacks(flushBytes: Int) throws -> (dir: String, spool: LaborSpool, expected: (bytes: [UInt8], body: LaborBody, origins: Set<Int64>)) {
        let (queue, dir) = try warehouse()
        let spool = LaborSpool(path: dir + "/work/" + LaborSpool.fileName, headerRoom: header.count, flushBytes: flushBytes)
        try post(queue, spool: spool, from: 0, count: 3000)
        try post(queue, spool: spool, from: 3000, count: 900, fail: true, origin: 9)
        try post(queue, spool: spool, from: 3000, count: 1500)
        try post(queue, spool: spool, from: 4500, count: 3, synchronous: true, fail: true, origin: 8)
        try post(queue, spool: spool, from: 4500, count: 400, synchronous: true)
        let count = try queue.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM posting_row") }
        #expect(count == 4900)
        return (dir, spool, try readBack(queue, first: 1, last: 4900))
    }

    /// Where two byte strings first differ, in words (a diff of megabytes takes Swift Testing
    /// minutes to print); nil when they are equal.
    func difference(_ got: [UInt8], _ expected: [UInt8]) -> String? {
        let differ = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        if differ == nil && got.count == expected.count { return nil }
        return "got \(got.count) bytes, expected \(expected.count), first difference at \(differ ?? min(got.count, expected.count))"
    }

    @Test(arguments: [1 << 20, 4096])
    func spooledLinesAreTheWarehouseLinesThroughRollbacks(flushBytes: Int) throws {
        let (dir, spool, expected) = try spoolThroughRollbacks(flushBytes: flushBytes)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let got = try #require(try spooled(spool, first: 1, last: 4900))
        #expect(difference(got.bytes, expected.bytes) == nil)
        #expect(got.body.control == expected.body.control && got.body.count == 4900)
        #expect(got.origins == expected.origins && got.origins == [1, 2, 3])
        // Written out to its file only past the flush size.
        #expect(FileManager.default.fileExists(atPath: spool.path) == (flushBytes < expected.bytes.count))
        // Not the reserved postings: the file is read back instead.
        #expect(try spooled(spool, first: 2, last: 4900) == nil)
        #expect(try spooled(spool, first: 1, last: 4899) == nil)
        spool.discard(through: 4899)
        #expect(try spooled(spool, first: 1, last: 4900) != nil)
        spool.discard(through: 4900)
        #expect(try spooled(spool, first: 1, last: 4900) == nil)
        #expect(!FileManager.default.fileExists(atPath: spool.path))
    }

    /// Installed, its file is the labor file: the header, the warehouse's lines and the
    /// trailer, under the target's name with an outbound file's permissions, hashed right; the
    /// spool holds nothing after.
    @Test(arguments: [1 << 20, 4096])
    func installedItIsTheLaborFile(flushBytes: Int) throws {
        let (dir, spool, expected) = try spoolThroughRollbacks(flushBytes: flushBytes)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/ERP_LABOR_1000_20261128_001.xml"
        #expect(spool.install(header: header, first: 2, last: 4900, at: target) == nil)
        let installed = try #require(spool.install(header: header, first: 1, last: 4900, at: target))
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: target)))
        #expect(difference(file, header + expected.bytes + expected.body.trailer) == nil)
        #expect(installed.digest == (try FileDigest.sha256(path: target).hex))
        #expect(installed.body.control == expected.body.control && installed.origins == expected.origins)
        #expect((try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int) == 0o644)
        #expect(!FileManager.default.fileExists(atPath: spool.path))
        #expect(try spooled(spool, first: 1, last: 4900) == nil)
    }

    /// When it cannot be installed (a header of another length, a target it cannot be renamed
    /// to), nothing is left of the attempt: its lines are copied as before, and a later install
    /// still gives the right file.
    @Test func notInstalledItsLinesAreCopied() throws {
        let (dir, spool, expected) = try spoolThroughRollbacks(flushBytes: 4096)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let longer = OutboundQueue.laborHeader(name: "ERP_LABOR_1000_20261128_1000.xml", company: "1000", createdAt: "2026-11-28T02:00:00+01:00")
        #expect(spool.install(header: longer, first: 1, last: 4900, at: dir + "/ERP_LABOR_1000_20261128_1000.xml") == nil)
        let nowhere = dir + "/missing/ERP_LABOR_1000_20261128_001.xml"
        #expect(spool.install(header: header, first: 1, last: 4900, at: nowhere) == nil)
        #expect(!FileManager.default.fileExists(atPath: nowhere) && spool.failure == nil)
        let copied = try #require(try spooled(spool, first: 1, last: 4900))
        #expect(difference(copied.bytes, expected.bytes) == nil)
        #expect(copied.body.control == expected.body.control)
        // The file holds its room and the lines, no trailer of the failed attempt.
        let size = try #require(try FileManager.default.attributesOfItem(atPath: spool.path)[.size] as? Int)
        #expect(size == header.count + spool.flushed)
        let target = dir + "/ERP_LABOR_1000_20261128_001.xml"
        _ = try #require(spool.install(header: header, first: 1, last: 4900, at: target))
        #expect(difference(try [UInt8](Data(contentsOf: URL(fileURLWithPath: target))), header + expected.bytes + expected.body.trailer) == nil)
    }

    /// Postings it was not told of (a gap in the numbers) or a file it cannot write: it gives
    /// up, frees its file, and never fails the load.
    @Test func aGapOrAFailedWriteMakesItGiveUp() throws {
        let (queue, dir) = try warehouse()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gap = LaborSpool(path: dir + "/gap/" + LaborSpool.fileName, flushBytes: 4096)
        try post(queue, spool: gap, from: 0, count: 100)
        try post(queue, spool: LaborSpool(path: dir + "/other/" + LaborSpool.fileName), from: 100, count: 10)
        try post(queue, spool: gap, from: 110, count: 100)
        #expect(gap.failure != nil)
        #expect(try spooled(gap, first: 1, last: 210) == nil)
        #expect(try spooled(gap, first: 1, last: 100) == nil)
        #expect(!FileManager.default.fileExists(atPath: gap.path))

        // Its folder cannot be made: a file stands where it would be.
        FileManager.default.createFile(atPath: dir + "/blocked", contents: Data())
        let blocked = LaborSpool(path: dir + "/blocked/" + LaborSpool.fileName, flushBytes: 4096)
        try post(queue, spool: blocked, from: 210, count: 200)
        #expect(blocked.failure != nil)
        #expect(try spooled(blocked, first: 211, last: 410) == nil)
        #expect(try queue.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM posting_row") } == 410)
    }
}
