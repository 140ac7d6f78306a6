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
        let rows = try warehouse.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbound_file WHERE status = 'pending'" + (pipeline == nil ? "" : " AND pipeline = ?") + " ORDER BY rowid", arguments: StatementArguments(pipeline.map { [$0] } ?? []))
        }
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

    func markWritten(_ name: String, digest: String, records: Int) throws {
        try warehouse.write { db in
            try db.execute(sql: "UPDATE outbound_file SET status = 'written', sha256 = ?, records = ? WHERE name = ?", arguments: [digest, records, name])
        }
    }

    /// ERP_LABOR (contract §7.1): the postings reserved for this file, in posting order, and a
    /// trailer with their exact sums.
    func writeLabor(name: String, target: String, pipeline: String, createdAt: String) throws -> RunSummary.Output {
        let dir = zone.outbound + "/" + target
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let batch = "LB-" + name.dropFirst("ERP_LABOR_".count).dropLast(".xml".count).replacingOccurrences(of: "_", with: "-")
        var count = 0
        var hours: Decimal = 0, cost: Decimal = 0, bill: Decimal = 0
        let digest = try AtomicFile.stream(to: dir + "/" + name) { sink in
            try sink(Data("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LaborPostings xmlns=\"urn:example:erp:labor:1\" batchId=\"\(batch)\" company=\"\(settings.company)\" createdAt=\"\(createdAt)\">\n".utf8))
            try warehouse.read { db in
                let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM postings WHERE output_file = ? ORDER BY seq", arguments: [name])
                while let p = try cursor.next() {
                    let h: String = p["hours"], c: String = p["cost_amount"], b: String = p["bill_amount"]
                    hours += DecimalText.parse(h) ?? 0
                    cost += DecimalText.parse(c) ?? 0
                    bill += DecimalText.parse(b) ?? 0
                    count += 1
                    var line = "  <Posting id=\"\(SnapshotWriter.escape(p["posting_id"]))\" ref=\"\(SnapshotWriter.escape(p["entry_id"]))\""
                    if let r: String = p["reverses"] { line += " reverses=\"\(SnapshotWriter.escape(r))\"" }
                    line += " pernr=\"\(p["pernr"] as String)\" erpProject=\"\(p["erp_project"] as String)\" laborClass=\"\(p["labor_class"] as String)\" postingDate=\"\(p["posting_date"] as String)\" period=\"\(p["period"] as String)\" hours=\"\(h)\" costAmount=\"\(c)\" billAmount=\"\(b)\" currency=\"\(p["currency"] as String)\"/>\n"
                    try sink(Data(line.utf8))
                }
            }
            try sink(Data("  <Control postingCount=\"\(count)\" totalHours=\"\(DecimalText.format(hours, scale: 2))\" totalCost=\"\(DecimalText.format(cost, scale: 2))\" totalBill=\"\(DecimalText.format(bill, scale: 2))\"/>\n</LaborPostings>\n".utf8))
        }
        try AtomicFile.writeCompanions(of: dir + "/" + name, digest: digest, checksum: true)
        try markWritten(name, digest: digest, records: count)
        context.logger.info("Outbound file written", metadata: ["stage": "outbound", "output": "\(name)", "records": "\(count)"])
        return .init(path: "outbound/\(target)/\(name)", pipeline: pipeline, sha256: digest, records: count,
                     control: ["postingCount": String(count), "totalHours": DecimalText.format(hours, scale: 2), "totalCost": DecimalText.format(cost, scale: 2), "totalBill": DecimalText.format(bill, scale: 2)])
    }
}
