@testable import DroplineCore
@testable import DroplineLoad
import DroplineTesting
import Foundation
import GRDB
import GRDBSQLite
import Testing

struct WriteBehindTests {
    func database() throws -> (DatabaseQueue, String) {
        try walDatabase("w", schema: "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT, n INTEGER)")
    }

    static let insert = "INSERT INTO t (k, v, n) VALUES (?, ?, ?)"
    static let update = "UPDATE t SET n = n + ? WHERE k = ?"

    /// Runs `body` with a writer over `sql` inside one write transaction; closes it whatever happens.
    func writing(_ queue: DatabaseQueue, _ sql: [String] = [Self.insert], synchronous: Bool = false, _ body: (Database, WriteBehind) throws -> Void) throws {
        try queue.write { db in
            let writes = WriteBehind(statements: try sql.map { try RawStatement(db, $0) }, synchronous: synchronous)
            defer { writes.close() }
            try body(db, writes)
        }
    }

    /// The observer hears of each row of an observed statement once it ran, in order, with the
    /// values as bound and the rowid it inserted; of no other row; on the writer's thread and
    /// when synchronous alike.
    @Test(arguments: [false, true])
    func observedRowsAreToldWithTheirValuesAndRowids(synchronous: Bool) throws {
        let (queue, dir) = try walDatabase("o", schema: "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v TEXT, n INTEGER)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        final class Heard: @unchecked Sendable {
            var rows: [(statement: Int, k: String?, v: String?, n: Int64?, kAsInteger: Int64?, rowID: Int64)] = []
        }
        let heard = Heard()
        try queue.write { db in
            let writes = WriteBehind(statements: [try RawStatement(db, "INSERT INTO t (k, v, n) VALUES (?, ?, ?)"), try RawStatement(db, "UPDATE t SET n = n + ? WHERE k = ?")],
                                     synchronous: synchronous, observe: [0]) { statement, row, rowID in
                func text(_ i: Int32) -> String? { row.bytes(i).map { String(decoding: $0, as: UTF8.self) } }
                heard.rows.append((statement, text(0), text(1), row.int64(2), row.int64(0), rowID))
            }
            defer { writes.close() }
            for i in 0..<2500 {
                try writes.row(0, "k\(i)", i % 5 == 0 ? nil : "värde \(i)", i % 7 == 0 ? nil : Int64(i) - 1000)
                if i % 3 == 0 { try writes.row(1, Int64(1), "k\(i)") }
            }
            try writes.finish()
        }
        #expect(heard.rows.count == 2500)
        for (i, r) in heard.rows.enumerated() {
            #expect(r.statement == 0 && r.rowID == Int64(i) + 1 && r.k == "k\(i)" && r.kAsInteger == nil)
            #expect(r.v == (i % 5 == 0 ? nil : "värde \(i)"))
            #expect(r.n == (i % 7 == 0 ? nil : Int64(i) - 1000))
        }
        let ids = try queue.read { try Int64.fetchAll($0, sql: "SELECT id FROM t ORDER BY k") }
        #expect(Set(ids) == Set(heard.rows.map(\.rowID)))
    }

    /// Rows of a statement with groups (`WriteBehind.init`) run several at once where they come
    /// one after another: runs of every length from 1 to 19 between updates, so that every group
    /// and the single statement are taken, and ends of batches fall inside runs. The observer
    /// hears each row in order with its values and the rowid the table gave it, and the updates
    /// right behind the rows they change find them.
    @Test(arguments: [false, true])
    func rowsOfAGroupedStatementRunTogetherAndAreToldOneByOne(synchronous: Bool) throws {
        let (queue, dir) = try walDatabase("g", schema: "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT, n INTEGER)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        final class Heard: @unchecked Sendable {
            var rows: [(k: String?, v: String?, n: Int64?, rowID: Int64)] = []
        }
        let heard = Heard()
        func values(_ rows: Int) -> String { Array(repeating: "(?, ?, ?)", count: rows).joined(separator: ", ") }
        var expected: [(k: String, v: String?, n: Int64)] = []
        var runs: [Int32] = []
        try queue.write { db in
            let groups = try [2, 8, 4].map { try RawStatement(db, "INSERT OR FAIL INTO t (k, v, n) VALUES \(values($0))") }
            defer { runs = groups.map { sqlite3_stmt_status($0.handle, SQLITE_STMTSTATUS_RUN, 0) } }
            let writes = WriteBehind(statements: [try RawStatement(db, "INSERT INTO t (k, v, n) VALUES (?, ?, ?)"), try RawStatement(db, Self.update)],
                                     synchronous: synchronous, observe: [0],
                                     observer: { _, row, rowID in
                                         func text(_ i: Int32) -> String? { row.bytes(i).map { String(decoding: $0, as: UTF8.self) } }
                                         heard.rows.append((text(0), text(1), row.int64(2), rowID))
                                     },
                                     groups: [0: groups])
            defer { writes.close() }
            var i = 0
            for run in 0..<400 {
                for _ in 0...(run * 7 % 19) {
                    let v = i % 5 == 0 ? nil : "värde \(i)"
                    try writes.row(0, "k\(i)", v, Int64(i))
                    expected.append(("k\(i)", v, Int64(i)))
                    i += 1
                }
                try writes.row(1, Int64(1_000_000), "k\(i - 1)")
                expected[i - 1].n += 1_000_000
            }
            try writes.finish()
        }
        #expect(expected.count > 3 * 1024)
        // Each group ran (synchronous: none, every row is run as it comes).
        #expect(runs.allSatisfy { synchronous ? $0 == 0 : $0 > 0 })
        #expect(heard.rows.count == expected.count)
        let stored = try queue.read { try Row.fetchAll($0, sql: "SELECT id, k, v, n FROM t ORDER BY id") }
        #expect(stored.count == expected.count)
        for (i, (row, e)) in zip(heard.rows, expected).enumerated() {
            #expect(row.k == e.k && row.v == e.v && row.n == Int64(i))
            #expect(row.rowID == stored[i][0] as Int64 && stored[i][1] as String == e.k)
            #expect(stored[i][2] as String? == e.v && stored[i][3] as Int64 == e.n)
        }
    }

    @Test func rowsRunInOrderWithTheirValues() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writing(queue, [Self.insert, Self.update]) { _, writes in
            // More rows than one batch, updates right behind the inserts they change.
            for i in 0..<2000 {
                try writes.row(0, key: "k\(i)", "k\(i)", i % 7 == 0 ? nil : "värde \(i) ✓", Int64(i) - 1000)
                if i % 3 == 0 { try writes.row(1, Int64(1_000_000_000_000), "k\(i)") }
            }
            try writes.finish()
        }
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT k, v, n FROM t") }
        #expect(rows.count == 2000)
        for row in rows {
            let k: String = row[0]
            let i = Int(k.dropFirst())!
            let v: String? = row[1]
            #expect(v == (i % 7 == 0 ? nil : "värde \(i) ✓"))
            #expect(row[2] as Int64 == Int64(i) - 1000 + (i % 3 == 0 ? 1_000_000_000_000 : 0))
        }
    }

    /// A date written into a row arrives as its ISO text, as `text(date.iso)` would give it; a
    /// missing one as NULL. Seeded days across the whole calendar, both ends included.
    @Test func datesArriveAsTheirISOText() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var seed: UInt64 = 0xDA7E
        let first = BusinessDate(iso: "0001-01-01")!.dayNumber, last = BusinessDate(iso: "9999-12-31")!.dayNumber
        var days = [first, last, BusinessDate(iso: "2024-02-29")!.dayNumber]
        for _ in 0..<2_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            days.append(first + Int(seed >> 33) % (last - first + 1))
        }
        try writing(queue) { _, writes in
            for (i, day) in days.enumerated() {
                try writes.row(0) { row in
                    row.text("k\(i)")
                    row.date(i % 11 == 5 ? nil : BusinessDate(dayNumber: day))
                    row.integer(Int64(i))
                }
            }
            try writes.finish()
        }
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT v, n FROM t ORDER BY n") }
        #expect(rows.count == days.count)
        for (i, row) in rows.enumerated() {
            #expect(row[0] as String? == (i % 11 == 5 ? nil : BusinessDate(dayNumber: days[i]).iso), "\(i)")
        }
    }

    /// A decimal written into a row arrives as `DecimalText.format` gives it, whether or not the
    /// value is one the fast path reads (past 64 bits it goes through Foundation), and hundredths
    /// as `format(hundredths:)` gives them.
    @Test func decimalsArriveAsTheirFormattedText() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let posix = Locale(identifier: "en_US_POSIX")
        var values = ["0", "-0", "0.005", "-0.005", "712.5", "-1125.004", "99999999999.995", "18446744073709551616", "184467440737095516.15", "1E+3", "-0.000000000000000000001"]
            .map { Decimal(string: $0, locale: posix)! }
        var seed: UInt64 = 0xDEC
        for _ in 0..<2_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Decimal(sign: seed & 1 == 0 ? .plus : .minus, exponent: Int(seed >> 60) - 8, significand: Decimal(seed >> 20)))
        }
        let hundredths: [Int64] = [0, 5, -5, 750, -1250, Int64.max, Int64.min] + values.indices.map { Int64($0) * 7919 - 5_000_000 }
        try writing(queue) { _, writes in
            for (i, v) in values.enumerated() {
                try writes.row(0) { row in
                    row.text("d\(i)")
                    row.decimal(v, scale: i % 3 * 2)
                    row.integer(Int64(i))
                }
            }
            for (i, h) in hundredths.enumerated() {
                try writes.row(0) { row in
                    row.text("h\(i)")
                    row.decimal(hundredths: h)
                    row.integer(Int64(values.count + i))
                }
            }
            try writes.finish()
        }
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT v, n FROM t ORDER BY n") }
        #expect(rows.count == values.count + hundredths.count)
        for (i, row) in rows.enumerated() {
            let want = i < values.count ? DecimalText.format(values[i], scale: i % 3 * 2) : DecimalText.format(hundredths: hundredths[i - values.count])
            #expect(row[0] as String? == want, "\(i)")
        }
    }

    /// A value larger than a batch's first memory (64 KiB) moves the row's bytes to a larger
    /// block mid-row; the rows before it and the values after it in the same row survive.
    @Test(arguments: [false, true]) func valuesLargerThanABatchArriveWhole(synchronous: Bool) throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let big = String(repeating: "ø0123456789", count: 30_000)
        try writing(queue, synchronous: synchronous) { _, writes in
            for i in 0..<300 {
                try writes.row(0, "k\(i)", i == 150 ? big : "v\(i)", Int64(i))
            }
            try writes.finish()
        }
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT k, v FROM t ORDER BY n") }
        #expect(rows.count == 300)
        for (i, row) in rows.enumerated() {
            #expect(row[0] as String? == "k\(i)")
            #expect(row[1] as String? == (i == 150 ? big : "v\(i)"))
        }
    }

    @Test func aKeyIsInFlightUntilItsRowRan() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writing(queue) { db, writes in
            try writes.row(0, key: "a", "a", "x", Int64(1))
            #expect(writes.isInFlight("a"))
            #expect(!writes.isInFlight("b"))
            try writes.drain()
            #expect(!writes.isInFlight("a"))
            // Drained: the caller may read the connection itself.
            #expect(try writes.withConnection { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") } == 1)
            // Handed over in a full batch, while the writer waits for the connection held here.
            try writes.withConnection {
                try writes.row(0, key: "c", "c", "x", Int64(2))
                for i in 0..<WriteBehind.rowsPerBatch { try writes.row(0, key: "f\(i)", "f\(i)", "x", Int64(3 + i)) }
                #expect(writes.keysOfBatches.count > writes.keysStart)
                #expect(writes.isInFlight("c") && writes.isInFlight("f0") && !writes.isInFlight("a"))
            }
            try writes.drain()
            #expect(!writes.isInFlight("c") && !writes.isInFlight("f0"))
            try writes.finish()
        }
    }

    /// The keys it tracks are those of the rows still queued, however many rows went through.
    @Test func trackedKeysStayAsFewAsTheQueuedRows() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writing(queue) { _, writes in
            let bound = (WriteBehind.capacity + 2) * WriteBehind.rowsPerBatch
            for i in 0..<50_000 {
                try writes.row(0, key: "k\(i)", "k\(i)", "x", Int64(i))
                #expect(writes.pendingKeys.count + writes.keysOfBatches[writes.keysStart...].reduce(0) { $0 + $1.keys.count } <= bound)
                #expect(writes.keysOfBatches.count - writes.keysStart <= WriteBehind.capacity + 2)
                #expect(writes.keysOfBatches.count <= WriteBehind.capacity + 2 + 17)
            }
            try writes.finish()
            #expect(writes.pendingKeys.isEmpty && writes.keysOfBatches.count == writes.keysStart)
        }
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 50_000)
    }

    /// A failed row is thrown and nothing queued after it runs; the same inside a group of rows
    /// run at once (`grouped`: four at a time, the third row a duplicate).
    @Test(arguments: [false, true])
    func aFailedRowIsThrownAndNothingAfterItRuns(grouped: Bool) throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var thrown: (any Error)?
        try queue.inDatabase { db in
            try db.execute(sql: "BEGIN")
            let groups = grouped ? [0: [try RawStatement(db, "INSERT OR FAIL INTO t (k, v, n) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?)")]] : [:]
            let writes = WriteBehind(statements: [try RawStatement(db, Self.insert)], groups: groups)
            defer { writes.close() }
            do {
                for k in ["a", "b", "a", "c", "d", "e"] { try writes.row(0, k, "x", Int64(1)) }
                for i in 0..<600 { try writes.row(0, "after\(i)", "x", Int64(i)) }
                try writes.finish()
            } catch {
                thrown = error
            }
            writes.close()
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t WHERE k LIKE 'after%'") == 0)
            try db.execute(sql: "ROLLBACK")
        }
        #expect((thrown as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT)
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 0)
    }

    @Test func closeWithoutFinishingLeavesTheConnectionToTheCaller() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try queue.inDatabase { db in
            try db.execute(sql: "BEGIN")
            let writes = WriteBehind(statements: [try RawStatement(db, Self.insert)])
            for i in 0..<5000 { try writes.row(0, "k\(i)", "x", Int64(i)) }
            writes.close()
            writes.close()
            // The writer is gone: the transaction can be rolled back at once.
            try db.execute(sql: "ROLLBACK")
        }
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 0)
    }

    @Test func synchronousRowsRunAtOnce() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writing(queue, synchronous: true) { db, writes in
            try writes.row(0, key: "a", "a", "x", Int64(1))
            #expect(!writes.isInFlight("a"))
            #expect(try Int.fetchOne(db, sql: "SELECT n FROM t WHERE k = 'a'") == 1)
            try writes.finish()
        }
    }

    @Test func theSecondConnectionSeesOnlyWhatWasCommitted() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try queue.write { try $0.execute(sql: "INSERT INTO t VALUES ('old', 'x', 1)") }
        try queue.write { db in
            try db.execute(sql: "INSERT INTO t VALUES ('new', 'x', 2)")
            let reader = try #require(ReadConnection(besides: db))
            let s = try reader.prepare("SELECT COUNT(*), MAX(n) FROM t")
            #expect(try s.step())
            #expect(s.int64(0) == 1 && s.int64(1) == 1)
            s.reset()
        }
        let memory = try DatabaseQueue()
        try memory.read { #expect(ReadConnection(besides: $0) == nil) }
    }

    @Test func aSnapshotKeepsWhatTheFirstReadSawUntilItEnds() throws {
        let (queue, dir) = try database()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try queue.write { try $0.execute(sql: "INSERT INTO t VALUES ('old', 'x', 1)") }
        let reader = try #require(ReadConnection(path: dir + "/w.sqlite"))
        let s = try reader.prepare("SELECT COUNT(*) FROM t")
        func count() throws -> Int64? {
            defer { s.reset() }
            return try s.step() ? s.int64(0) : nil
        }
        try reader.beginSnapshot()
        #expect(try count() == 1)
        try queue.write { try $0.execute(sql: "INSERT INTO t VALUES ('new', 'x', 2)") }
        #expect(try count() == 1, "a read inside the snapshot saw a later commit")
        // The held snapshot keeps a checkpoint from moving the later commit into the file.
        let busy = try queue.writeWithoutTransaction { try Row.fetchOne($0, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        #expect(busy?[0] as Int? == 1)
        reader.endSnapshot()
        reader.endSnapshot()
        #expect(try count() == 2)
        let done = try queue.writeWithoutTransaction { try Row.fetchOne($0, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        #expect(done?[0] as Int? == 0)
    }

    @Test func keyFilterNeverForgetsAKeyAndRarelyInventsOne() {
        var filter = KeyFilter(expectedKeys: 100_000)
        for i in 0..<100_000 { filter.insert("TE-\(i)") }
        for i in 0..<100_000 { #expect(filter.mayContain("TE-\(i)"), "inserted key \(i) reported absent") }
        let invented = (0..<100_000).filter { filter.mayContain("TX-\($0)") }.count
        // 12 to 24 bits a key, four in one word: under 1 % in theory; 2 % leaves room.
        #expect(invented < 2_000, "\(invented) false positives in 100,000")
        // Past its size it still answers correctly, only more "maybe".
        var small = KeyFilter(expectedKeys: 10)
        for i in 0..<50_000 { small.insert("k\(i)") }
        #expect((0..<50_000).allSatisfy { small.mayContain("k\($0)") })
    }

    /// `insert` answers what `mayContain` would have just before it.
    @Test func keyFilterInsertTellsWhetherTheKeyMayHaveBeenThere() {
        var filter = KeyFilter(expectedKeys: 10_000)
        var g = SeededGenerator(seed: 12)
        for _ in 0..<40_000 {
            let key = "TE-\(Int.random(in: 0..<20_000, using: &g))"
            let before = filter.mayContain(key)
            #expect(filter.insert(key) == before)
            #expect(filter.mayContain(key))
        }
    }

    /// Keys that differ only in their last byte, as an export numbers its entries, fall into
    /// one block of eight words: a night's entries touch each block once every ten entries
    /// instead of a cache line each (what the filter is for on a large night).
    @Test func keyFilterKeepsKeysNumberedInARowInOneBlock() {
        let filter = KeyFilter(expectedKeys: 1_000_000)
        var blocks = Set<Int>()
        for tens in stride(from: 0, to: 100_000, by: 10) {
            let inRow = Set((0..<10).map { i -> Int in
                let number = String(tens + i)
                return filter.probe("TE-" + String(repeating: "0", count: 8 - number.count) + number, kind: 0).index / 8
            })
            #expect(inRow.count == 1, "keys \(tens)...\(tens + 9) in \(inRow.count) blocks")
            blocks.formUnion(inRow)
        }
        // Other prefixes still spread over the table (10,000 groups, 32,768 blocks).
        #expect(blocks.count > 8_000, "10,000 groups of keys in \(blocks.count) blocks")
    }

    /// A key inserted as one kind is found as that kind, and as another only by chance (the two
    /// share a word: another kind is not thereby in the set).
    @Test func keyFilterKindsAreApart() {
        var filter = KeyFilter(expectedKeys: 100_000)
        for i in 0..<50_000 { filter.insert("TE-\(i)") }
        for i in 50_000..<100_000 { filter.insert("TE-\(i)", kind: 1) }
        #expect((0..<50_000).allSatisfy { filter.mayContain("TE-\($0)") })
        #expect((50_000..<100_000).allSatisfy { filter.mayContain("TE-\($0)", kind: 1) })
        let asHolds = (0..<50_000).filter { filter.mayContain("TE-\($0)", kind: 1) }.count
        let asEntries = (50_000..<100_000).filter { filter.mayContain("TE-\($0)") }.count
        #expect(asHolds < 1_000 && asEntries < 1_000, "\(asHolds) and \(asEntries) false positives in 50,000 each")
    }

    /// A key after every key of its kind inserted so far is certainly absent, however full the
    /// bits: a filter far too small (1,024 words for 100,000 keys, every bit set) still answers
    /// "no" for each next entry of a night numbered onwards, and "maybe" for every key inserted,
    /// whatever their order, their kinds or their length.
    @Test func orderedKeyFilterAnswersNoForKeysAfterTheGreatest() {
        func id(_ i: Int) -> String { let n = String(i); return "TE-" + String(repeating: "0", count: 8 - n.count) + n }
        var filter = OrderedKeyFilter(expectedKeys: 10, kinds: 3)
        #expect(!filter.mayContain(id(1)) && !filter.mayContain(id(1), kind: 2))
        for i in 0..<100_000 {
            #expect(!filter.mayContain(id(i)), "\(id(i)) reported before it was inserted")
            let had = filter.insert(id(i))
            #expect(!had)
        }
        #expect((0..<100_000).allSatisfy { filter.mayContain(id($0)) })
        // The bits alone say "maybe" for nearly everything now; other kinds keep their own order.
        #expect(filter.filter.mayContain(id(100_000)) && filter.filter.mayContain(id(100_000), kind: 1))
        #expect(!filter.mayContain(id(100_000), kind: 1))
        filter.insert(id(5), kind: 1)
        #expect(filter.mayContain(id(5), kind: 1) && !filter.mayContain(id(6), kind: 1))

        // Keys out of order, of any length (up to 44 bytes, half alike in their first 28 to 32), and
        // kinds beyond those ordered: nothing inserted is ever missed.
        var g = SeededGenerator(seed: 29)
        var mixed = OrderedKeyFilter(expectedKeys: 1_000, kinds: 2)
        var inserted: [(String, UInt64)] = []
        for _ in 0..<5_000 {
            let stem = Bool.random(using: &g) ? String(repeating: "7", count: Int.random(in: 28...34, using: &g)) : ""
            let key = stem + String((0..<Int.random(in: 0...10, using: &g)).map { _ in Character(Unicode.Scalar(UInt8.random(in: 0x2F...0x3A, using: &g))) })
            let kind = UInt64.random(in: 0...2, using: &g)
            let before = mixed.mayContain(key, kind: kind)
            let had = mixed.insert(key, kind: kind)
            #expect(had == before)
            inserted.append((key, kind))
            if Int.random(in: 0..<50, using: &g) == 0 {
                #expect(inserted.allSatisfy { mixed.mayContain($0.0, kind: $0.1) })
            }
        }
        #expect(inserted.allSatisfy { mixed.mayContain($0.0, kind: $0.1) })
        // Bytes, not characters: "TE-9" comes after "TE-10", "\u{1}..." before "TE-".
        var order = OrderedKeyFilter(expectedKeys: 100, kinds: 1)
        order.insert("TE-10")
        #expect(!order.mayContain("TE-9") && !order.mayContain("TE-10\u{0}") && !order.mayContain("U"))
        #expect(order.filter.mayContain("\u{1}1\u{1}1001") == order.mayContain("\u{1}1\u{1}1001"))
    }
}
