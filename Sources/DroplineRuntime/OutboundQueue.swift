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
                if !snapshot.whenEmpty, try SnapshotWriter.isEmpty(snapshot, in: db) { continue }
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
                outputs.append(try writeLabor(name: name, target: row["target"], pipeline: row["pipeline"], createdAt: created, first: row["first_seq"] ?? 0, last: row["last_seq"] ?? -1))
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

    /// The head of an ERP labor file named `name` (contract §7.1), up to its first posting.
    static func laborHeader(name: String, company: String, createdAt: String) -> [UInt8] {
        let batch = "LB-" + name.dropFirst("ERP_LABOR_".count).dropLast(".xml".count).replacingOccurrences(of: "_", with: "-")
        return Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LaborPostings xmlns=\"urn:example:erp:labor:1\" batchId=\"\(batch)\" company=\"\(company)\" createdAt=\"\(createdAt)\">\n".utf8)
    }

    /// ERP_LABOR (contract §7.1): the postings reserved for this file (numbers `first...last`;
    /// a reservation without them has none), in posting order, and a trailer with their exact
    /// sums. Their lines come from the run's `LaborSpool` when it holds exactly those postings
    /// (its file made the labor file where possible, `LaborSpool.install`), else from the
    /// warehouse (a crashed run's file, say).
    func writeLabor(name: String, target: String, pipeline: String, createdAt: String, first: Int64, last: Int64) throws -> RunSummary.Output {
        let dir = zone.outbound + "/" + target
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let header = Self.laborHeader(name: name, company: settings.company, createdAt: createdAt)
        var body = LaborBody()
        // The run_export ids of the postings.
        var origins = Set<Int64>()
        let spool = context.laborSpool
        defer { spool?.discard(through: last) }
        var spooled = false
        // The run's lines become the file where they lie, or are copied, or are read back.
        let installed = spool?.install(header: header, first: first, last: last, at: dir + "/" + name)
        if let installed { (body, origins, spooled) = (installed.body, installed.origins, true) }
        let digest = try installed?.digest ?? AtomicFile.stream(to: dir + "/" + name) { sink in
            try sink(header)
            if let lines = try spool?.lines(first: first, last: last, { try sink($0) }) {
                (body, origins, spooled) = (lines.body, lines.origins, true)
                try sink(body.trailer)
                return
            }
            if let why = spool?.failure {
                context.logger.info("Labor file read back from the warehouse", metadata: ["stage": "outbound", "output": "\(name)", "why": "\(why)"])
            }
            // Bytes straight from SQLite's column buffers: no String per value.
            body.out.reserveCapacity(1 << 17)
            try readPostings("""
                SELECT n, entry_id, reverses, pernr, erp_project, labor_class, posting_date, period, hours, cost_amount, bill_amount, currency, origin
                FROM posting_row WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq
                """) { s in
                s.bind(first, last)
                defer { s.reset() }
                // SQLite's stepping on another thread, the writing here.
                try PrefetchedRows(s, columns: 13).forEach { r in
                    if let origin = try body.append(r, LaborBody.selected) { origins.insert(origin) }
                    if body.out.count >= 1 << 16 {
                        try sink(body.out)
                        body.out.removeAll(keepingCapacity: true)
                    }
                }
            }
            try sink(body.out + body.trailer)
        }
        try AtomicFile.writeCompanions(of: dir + "/" + name, digest: digest, checksum: true)
        try markWritten(name, digest: digest, records: body.count, oldestGeneratedAt: origins)
        context.logger.info("Outbound file written", metadata: ["stage": "outbound", "output": "\(name)", "records": "\(body.count)", "from": "\(installed != nil ? "run_in_place" : spooled ? "run" : "warehouse")"])
        return .init(path: "outbound/\(target)/\(name)", pipeline: pipeline, sha256: digest, records: body.count, control: body.control)
    }

}
