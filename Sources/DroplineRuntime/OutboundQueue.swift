import DroplineCore
import DroplineLoad
import Foundation
import GRDB
import Logging

/// Outbound files are first reserved in the warehouse (name, sequence number, what goes in), in
/// the same transaction as the state they reflect, and then written: tmp + fsync + rename,
/// `.sha256` where asked, `.done`. A run that dies between the two leaves a pending reservation
/// that the next run writes under the same name, so a crash never loses, renames or doubles a
/// file. Sequence numbers count per name prefix and are never reused.
struct OutboundQueue {
    let zone: DropZone
    let settings: ZoneSettings
    let context: RunContext
    let warehouse: DatabaseQueue
    let definitions: [PipelineDefinition]

    /// Reserves the next `NNN` for a prefix and records the pending file.
    static func reserve(_ db: Database, name template: (Int) -> String, prefix: String, target: String, kind: String, pipeline: String, loadIndex: Int?, businessDate: BusinessDate?, context: RunContext, createdAt: String) throws -> String {
        let last = try Int.fetchOne(db, sql: "SELECT last FROM outbound_sequence WHERE prefix = ?", arguments: [prefix]) ?? 0
        try db.execute(sql: "INSERT INTO outbound_sequence (prefix, last) VALUES (?, ?) ON CONFLICT(prefix) DO UPDATE SET last = excluded.last", arguments: [prefix, last + 1])
        let name = template(last + 1)
        try db.execute(sql: """
            INSERT INTO outbound_file (name, target, kind, run_id, pipeline, load_index, business_date, run_date, seq, created_at, status)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')
            """, arguments: [name, target, kind, context.runID, pipeline, loadIndex, businessDate?.iso, context.runDate.iso, last + 1, createdAt])
        return name
    }

    /// Reserves the pipeline's snapshot files that are due: after a loaded file (recorded in
    /// `snapshot_due` with the load), or, for send-once snapshots, whenever there are new rows.
    func reserveSnapshots(of d: PipelineDefinition, createdAt: String) throws {
        try warehouse.inTransaction { db in
            let due = try Row.fetchOne(db, sql: "SELECT business_date FROM snapshot_due WHERE pipeline = ?", arguments: [d.name])
            let businessDate = (due?["business_date"] as String?).flatMap { BusinessDate(iso: $0) }
            for (index, load) in d.loads.enumerated() {
                guard case .snapshotFile(let snapshot) = load else { continue }
                if snapshot.sendOnce == nil && due == nil { continue }
                if !snapshot.whenEmpty, try SnapshotWriter.count(snapshot, in: db) == 0 { continue }
                let values = templateValues(businessDate: businessDate, runDate: context.runDate, createdAt: createdAt)
                let probe = snapshot.name.render { values(.string("\u{1}"))($0) ?? .null }
                let prefix = String(probe[..<(probe.range(of: "\u{1}")?.lowerBound ?? probe.endIndex)]).trimmingCharacters(in: CharacterSet(charactersIn: "_"))
                let name = try Self.reserve(db, name: { seq in snapshot.name.render { values(.integer(Int64(seq)))($0) ?? .null } }, prefix: prefix, target: snapshot.target, kind: "snapshot", pipeline: d.name, loadIndex: index, businessDate: businessDate, context: context, createdAt: createdAt)
                if snapshot.sendOnce != nil { try SnapshotWriter.markSent(snapshot, file: name, in: db) }
            }
            try db.execute(sql: "DELETE FROM snapshot_due WHERE pipeline = ?", arguments: [d.name])
            return .commit
        }
    }

    func templateValues(businessDate: BusinessDate?, runDate: BusinessDate, createdAt: String) -> (Value) -> (String) -> Value? {
        { seq in
            { name in
                switch name {
                case "business_date": businessDate.map(Value.date) ?? .null
                case "run_date": .date(runDate)
                case "company": .string(settings.company)
                case "created_at": .string(createdAt)
                case "seq": seq
                default: nil
                }
            }
        }
    }

    /// Writes every pending file (of one pipeline, or all), oldest reservation first.
    func writePending(pipeline: String? = nil) throws -> [RunSummary.Output] {
        try write(try pending(pipeline: pipeline))
    }

    /// The files reserved and not yet written (of one pipeline, or all), oldest reservation first.
    /// Read apart from `write`, on the run's thread: a writer on another thread that read them
    /// itself waited for the run's connection until utilization was refreshed, and only then
    /// began the labor file (which reads through a connection of its own).
    func pending(pipeline: String? = nil) throws -> [Row] {
        try warehouse.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbound_file WHERE status = 'pending'" + (pipeline == nil ? "" : " AND pipeline = ?") + " ORDER BY rowid", arguments: StatementArguments(pipeline.map { [$0] } ?? []))
        }
    }

    /// Writes the reserved files `rows` (from `pending`).
    func write(_ rows: [Row]) throws -> [RunSummary.Output] {
        var outputs: [RunSummary.Output] = []
        for row in rows {
            let name: String = row["name"], kind: String = row["kind"], created: String = row["created_at"]
            if kind == "erp_labor" {
                outputs.append(try writeLabor(name: name, target: row["target"], pipeline: row["pipeline"], createdAt: created))
                continue
            }
            guard let d = definitions.first(where: { $0.name == row["pipeline"] as String }), let index: Int = row["load_index"], index < d.loads.count,
                case .snapshotFile(let snapshot) = d.loads[index]
            else {
                context.logger.error("Pending outbound file has no definition any more", metadata: ["stage": "outbound", "output": "\(name)"])
                continue
            }
            let values = templateValues(businessDate: (row["business_date"] as String?).flatMap { BusinessDate(iso: $0) }, runDate: BusinessDate(iso: row["run_date"] as String) ?? context.runDate, createdAt: created)(.integer(row["seq"]))
            let dir = zone.outbound + "/" + snapshot.target
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var count = 0
            let digest = try AtomicFile.stream(to: dir + "/" + name) { sink in
                count = try warehouse.read { db in try SnapshotWriter.write(snapshot, from: db, run: values, sentIn: snapshot.sendOnce == nil ? nil : name) { try sink(Data($0.utf8)) } }
            }
            try AtomicFile.writeCompanions(of: dir + "/" + name, digest: digest, checksum: snapshot.checksum)
            try markWritten(name, digest: digest, records: count)
            context.logger.info("Outbound file written", metadata: ["stage": "outbound", "pipeline": "\(d.name)", "output": "\(name)", "records": "\(count)"])
            outputs.append(.init(path: "outbound/\(snapshot.target)/\(name)", pipeline: d.name, sha256: digest, records: count))
        }
        return outputs
    }

    /// Runs `body` with `sql` prepared on a read-only connection of its own (committed data; the
    /// run's connection stays free for other work meanwhile, such as utilization), or on the
    /// run's connection when there is no file to open a second one on.
    func readPostings(_ sql: String, _ body: (RawStatement) throws -> Void) throws {
        if let reader = ReadConnection(path: warehouse.path) {
            try body(try reader.prepare(sql))
        } else {
            try warehouse.read { db in try body(try RawStatement(db, sql)) }
        }
    }

    /// `oldestGeneratedAt`: for a labor file, the origins (run_export ids) of its postings,
    /// whose exports' earliest generated-at it records (the posting latency metric reads it).
    func markWritten(_ name: String, digest: String, records: Int, oldestGeneratedAt origins: Set<Int64>? = nil) throws {
        try warehouse.write { db in
            try db.execute(sql: "UPDATE outbound_file SET status = 'written', sha256 = ?, records = ? WHERE name = ?", arguments: [digest, records, name])
            guard let origins else { return }
            // Integers only: written into the statement as they are.
            try db.execute(sql: """
                UPDATE outbound_file SET oldest_generated_at = (
                    SELECT MIN(f.generated_at) FROM _dropline_file_load f
                    WHERE f.generated_at IS NOT NULL AND f.export_id IN (SELECT export_id FROM run_export WHERE id IN (\(origins.sorted().map(String.init).joined(separator: ",")))))
                WHERE name = ?
                """, arguments: [name])
        }
    }

    /// ERP_LABOR (contract §7.1): the postings reserved for this file, in posting order, and a
    /// trailer with their exact sums.
    func writeLabor(name: String, target: String, pipeline: String, createdAt: String) throws -> RunSummary.Output {
        let dir = zone.outbound + "/" + target
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let batch = "LB-" + name.dropFirst("ERP_LABOR_".count).dropLast(".xml".count).replacingOccurrences(of: "_", with: "-")
        var count = 0
        // Totals in exact hundredths (every amount is written with two decimals).
        var hours: Int64 = 0, cost: Int64 = 0, bill: Int64 = 0
        // The run_export ids of the postings (each file's postings stand together).
        var origins = Set<Int64>()
        var lastOrigin: Int64?
        let digest = try AtomicFile.stream(to: dir + "/" + name) { sink in
            // Bytes straight from SQLite's column buffers: no String per value.
            var out = Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LaborPostings xmlns=\"urn:example:erp:labor:1\" batchId=\"\(batch)\" company=\"\(settings.company)\" createdAt=\"\(createdAt)\">\n".utf8)
            out.reserveCapacity(1 << 17)
            try readPostings("""
                SELECT n, entry_id, reverses, pernr, erp_project, labor_class, posting_date, period, hours, cost_amount, bill_amount, currency, origin
                FROM posting_row WHERE seq BETWEEN (SELECT first_seq FROM outbound_file WHERE name = ?1) AND (SELECT last_seq FROM outbound_file WHERE name = ?1) ORDER BY seq
                """) { s in
                s.bind(name)
                defer { s.reset() }
                // `out` goes in and out of these as an inout parameter: captured by nested
                // functions instead, every append paid a dynamic exclusivity check (two fifths
                // of the file's time).
                /// ` label="value"`; a NULL value is written empty.
                func attribute(_ out: inout [UInt8], _ r: PrefetchedRows.Row, _ label: StaticString, _ column: Int32, escaped: Bool = false) {
                    guard let bytes = r.bytes(column) else {
                        out.append(label)
                        out.append(UInt8(ascii: "\""))
                        return
                    }
                    out.append(label)
                    if escaped { SnapshotWriter.appendEscaped(bytes, to: &out) } else { out.append(contentsOf: bytes) }
                    out.append(UInt8(ascii: "\""))
                }
                /// ` label="P-<entry id>-<n>"` (`Posting.id`, written as bytes) of the posting number
                /// in `column`; nothing when it is NULL.
                func postingID(_ out: inout [UInt8], _ r: PrefetchedRows.Row, _ label: StaticString, _ column: Int32) {
                    guard let n = r.int64(column) else { return }
                    out.append(label)
                    out.append(contentsOf: "P-".utf8)
                    if let entry = r.bytes(1) { SnapshotWriter.appendEscaped(entry, to: &out) }
                    out.append(UInt8(ascii: "-"))
                    out.append(contentsOf: zeroPad(Int(n), 3).utf8)
                    out.append(UInt8(ascii: "\""))
                }
                func amount(_ out: inout [UInt8], _ r: PrefetchedRows.Row, _ label: StaticString, _ column: Int32) throws -> Int64 {
                    let bytes = r.bytes(column)
                    out.append(label)
                    if let bytes { out.append(contentsOf: bytes) }
                    out.append(UInt8(ascii: "\""))
                    guard let value = bytes.flatMap(Self.hundredths) else {
                        throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "a posting amount is not a decimal with two places")
                    }
                    return value
                }
                // SQLite's stepping on another thread, the writing here.
                try PrefetchedRows(s, columns: 13).forEach { r in
                    if let origin = r.int64(12), origin != lastOrigin {
                        origins.insert(origin)
                        lastOrigin = origin
                    }
                    out.append("  <Posting")
                    postingID(&out, r, " id=\"", 0)
                    attribute(&out, r, " ref=\"", 1, escaped: true)
                    postingID(&out, r, " reverses=\"", 2)
                    attribute(&out, r, " pernr=\"", 3)
                    attribute(&out, r, " erpProject=\"", 4)
                    attribute(&out, r, " laborClass=\"", 5)
                    attribute(&out, r, " postingDate=\"", 6)
                    attribute(&out, r, " period=\"", 7)
                    hours += try amount(&out, r, " hours=\"", 8)
                    cost += try amount(&out, r, " costAmount=\"", 9)
                    bill += try amount(&out, r, " billAmount=\"", 10)
                    attribute(&out, r, " currency=\"", 11)
                    out.append("/>\n")
                    count += 1
                    if out.count >= 1 << 16 {
                        try sink(out)
                        out.removeAll(keepingCapacity: true)
                    }
                }
            }
            out += Array("  <Control postingCount=\"\(count)\" totalHours=\"\(DecimalText.format(hundredths: hours))\" totalCost=\"\(DecimalText.format(hundredths: cost))\" totalBill=\"\(DecimalText.format(hundredths: bill))\"/>\n</LaborPostings>\n".utf8)
            try sink(out)
        }
        try AtomicFile.writeCompanions(of: dir + "/" + name, digest: digest, checksum: true)
        try markWritten(name, digest: digest, records: count, oldestGeneratedAt: origins)
        context.logger.info("Outbound file written", metadata: ["stage": "outbound", "output": "\(name)", "records": "\(count)"])
        return .init(path: "outbound/\(target)/\(name)", pipeline: pipeline, sha256: digest, records: count,
                     control: ["postingCount": String(count), "totalHours": DecimalText.format(hundredths: hours), "totalCost": DecimalText.format(hundredths: cost), "totalBill": DecimalText.format(hundredths: bill)])
    }

    /// `-12.50` -> -1250; nil unless exactly `[-]digits.dd`.
    static func hundredths(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var u = bytes[...]
        let negative = u.first == UInt8(ascii: "-")
        if negative { u = u.dropFirst() }
        guard u.count >= 4, u.count <= 17, u[u.index(u.endIndex, offsetBy: -3)] == UInt8(ascii: ".") else { return nil }
        var v: Int64 = 0
        for (i, c) in u.enumerated() where i != u.count - 3 {
            guard c >= 48, c <= 57 else { return nil }
            v = v * 10 + Int64(c - 48)
        }
        return negative ? -v : v
    }

}
