import DroplineCore
import DroplineExtract
import DroplineLoad
import DroplineProfessionalServices
import DroplineTransform
import DroplineXML
import Foundation
import GRDB
import Logging

/// Run-level steps of time approval and posting: re-evaluating holds before the new exports
/// (contract §1.4, §4.4), the ERP labor file after them (§7.1), and the utilization weeks the
/// run's postings touched (§7.4).
struct TimePostingRun {
    let zone: DropZone
    let settings: ZoneSettings
    let context: RunContext
    let ledger: Ledger
    let warehouse: DatabaseQueue
    let definition: PipelineDefinition
    let load: TimePostingLoad

    /// The entry record and its `entry_id` field, as the definition declares them.
    var entryID: (record: RecordDefinition, field: FieldDefinition)? {
        guard let rec = definition.record(named: load.record), let field = rec.fields.first(where: { $0.name == "entry_id" }) else { return nil }
        return (rec, field)
    }

    /// For a dry run: the keys (`RepeatedValueScan.key`) of the entry ids that may occur more
    /// than once among the exports at `paths`, read from their bytes; nil (keep every posting)
    /// when that read cannot be sure of them: an entry id that is not a plain attribute of the
    /// entry, a transform of the entry record (which might make two ids one), or a file the
    /// scan gives up on. Only the postings of these entries are kept in a dry run: no other
    /// entry of it can look one up.
    func repeatedEntries(in paths: [String]) -> Set<String>? {
        guard let (rec, idField) = entryID, let element = rec.path.last, idField.path.steps.count == 1, case .attribute(let attribute) = idField.path.steps[0],
            !RecordTransformer(transforms: definition.transforms).changes(load.record)
        else { return nil }
        let bytes = paths.reduce(0) { $0 + Int(FileDigest.size(of: $1) ?? 0) }
        return RepeatedValueScan.candidates(files: paths, element: element.local, attribute: attribute.local, expectedValues: bytes / 100)
    }

    /// Held entry ids that the given exports carry again: they are decided from the export
    /// (superseded), so their re-evaluation waits until the exports were processed.
    /// Files the ledger already knows by their bytes are skipped (they will be duplicates); their
    /// digests are handed back so that nothing is hashed twice. A file that cannot be read or
    /// parsed is passed over here (processing it quarantines it); a failed read of the warehouse
    /// or the ledger fails the run.
    func carriedAgain(in paths: [String], digests: inout [String: (hex: String, bytes: Int64)]) throws -> Set<String> {
        let held = try warehouse.read { try Set(String.fetchAll($0, sql: "SELECT entry_id FROM holds")) }
        guard !held.isEmpty, let (rec, idField) = entryID else { return [] }
        let isHeld = HeldIDs(held)
        var found = Set<String>()
        for path in paths {
            let name = (path as NSString).lastPathComponent
            // A file the ledger already knows by its bytes will be a duplicate, and what it
            // carries does not count. One of a size no processed file had cannot be one: it is
            // hashed on another thread while its ids are read. Any other is hashed first, so
            // that a duplicate (every file of a rerun) is not read at all.
            if let size = FileDigest.size(of: path), try !ledger.seen(bytes: size) {
                let digest = PendingDigest(hashing: path, bytes: size)
                let carried = Self.carried(in: path, record: rec, idField: idField, where: isHeld)
                if let digest = try? digest.value() { digests[name] = digest }
                found.formUnion(carried)
                continue
            }
            if let digest = try? FileDigest.sha256(path: path) {
                digests[name] = digest
                if try ledger.seen(sha256: digest.hex) != nil { continue }
            }
            found.formUnion(Self.carried(in: path, record: rec, idField: idField, where: isHeld))
        }
        return found
    }

    /// The held entry ids (`holds`), asked for every entry id of the exports: first of a filter
    /// (a few nanoseconds where hashing the id for the set took about a hundred, 0.8 s of the
    /// 1 GB next night's 7.5 million entries), by the id as libxml2 reads it or by its key
    /// (`RepeatedValueScan.key`) as a byte scan reads it.
    struct HeldIDs {
        let ids: Set<String>
        /// The held ids by key (ids differing only in whitespace share one).
        let byKey: [String: [String]]
        let filter: KeyFilter

        init(_ ids: Set<String>) {
            self.ids = ids
            var byKey: [String: [String]] = [:]
            for id in ids { byKey[RepeatedValueScan.key(id), default: []].append(id) }
            self.byKey = byKey
            var filter = KeyFilter(expectedKeys: byKey.count)
            for key in byKey.keys { filter.insert(key) }
            self.filter = filter
        }

        /// Whether `id`, as libxml2 reads it, is held.
        func callAsFunction(_ id: String) -> Bool { filter.mayContain(RepeatedValueScan.key(id)) && ids.contains(id) }

        /// The held ids whose key is `key`.
        func ids(key: UnsafeBufferPointer<UInt8>) -> [String] {
            guard filter.mayContain(bytes: key) else { return [] }
            return byKey[String(decoding: key, as: UTF8.self)] ?? []
        }
    }

    /// The entry ids of the export at `path` that are held; none if it cannot be read.
    static func carried(in path: String, record rec: RecordDefinition, idField: FieldDefinition, where held: HeldIDs) -> Set<String> {
        var found = Set<String>()
        Failpoint.holdPrePassReads.hit()
        if idField.path.steps.count == 1, case .attribute(let q) = idField.path.steps[0], let element = rec.path.last {
            // The usual id, an attribute of the entry: read from the file's bytes, not parsed
            // (`RepeatedValueScan`, a fifth of the instructions of libxml2's SAX, which was a
            // serial pass over every export before it loaded, every night there were holds).
            // It reads every tag of the entry's name, wherever it stands, and ids by their key,
            // so it may find more than the export holds, never less: an entry it finds in a
            // place the export does not hold entries (a file the schema then refuses) waits, as
            // for an export that is not loaded, until after the exports (`HELDLATE`).
            let read = RepeatedValueScan.forEachKey(inFileAt: path, element: element.local, attribute: q.local) { key in
                for id in held.ids(key: key) { found.insert(id) }
            }
            if read { return found }
            // What the byte scan cannot read for sure: by SAX, no node built (building a tree
            // per timesheet cost about a parse and a half of the file; libxml2's reader, which
            // builds a node per element, about twice what SAX takes).
            found.removeAll()
            try? XMLAttributeScan.forEachElement(inFileAt: path, at: rec.path.map { XMLName(namespace: $0.namespace, local: $0.local) }, attribute: XMLName(namespace: q.namespace, local: q.local)) { id in
                if let id, held(id) { found.insert(id) }
            }
            return found
        }
        guard let reader = try? XMLStreamReader(path: path), let root = try? reader.readRoot() else { return found }
        func visit(_ el: DroplineXML.XMLElement, _ ancestors: [DroplineXML.XMLElement], depth: Int) {
            let q = rec.path[depth]
            guard el.is(namespace: q.namespace, local: q.local) else { return }
            if depth == rec.path.count - 1 {
                if let id = FieldReader.raw(idField.path, record: el, ancestors: ancestors, root: root), held(id) { found.insert(id) }
                return
            }
            for child in el.children { visit(child, ancestors + [el], depth: depth + 1) }
        }
        while let unit = try? reader.nextUnit() { visit(unit, [root], depth: 1) }
        return found
    }

    /// Re-evaluates held entries oldest first (by business date, file, position) that `include` selects.
    func reevaluateHolds(where include: (TimePostingStage.HeldEntry) -> Bool, label: String) throws -> [String: Int] {
        var outcomes: [String: Int] = [:]
        // The rejects get a file name the pipeline claims, so that a fixed file can be resubmitted.
        let fileName = "PSA_TIMESHEETS_\(label.replacingOccurrences(of: "_", with: ""))_\(context.runDate.compact)_001.xml"
        let rejects = RejectWriter(zone: zone, pipeline: definition.name, runID: context.runID, fileName: fileName, dryRun: context.dryRun)
        var rejected: [TimeEntry] = []
        var exportID = ""
        try warehouse.unitOfWork(dryRun: context.dryRun, spool: context.laborSpool) { db in
            let stage = try TimePostingStage(db: db, load: load, settings: settings, runID: context.runID, runDate: context.runDate, audit: !context.dryRun, spool: context.laborSpool)
            defer { stage.close() }
            try stage.forEachHeld { held in
                guard include(held) else { return }
                switch try stage.decide(held.entry, fileName: held.fileName, position: held.position, heldAs: held.reason) {
                case .posted: outcomes["posted", default: 0] += 1
                case .held: outcomes["held", default: 0] += 1
                case .skipped: outcomes["skipped", default: 0] += 1
                case .rejected(let issues):
                    outcomes["rejected", default: 0] += 1
                    try rejects.append(Rejection(recordType: load.record, key: held.entry.entryID, line: rejected.count + 1, issues: issues))
                    rejected.append(held.entry)
                }
            }
            try stage.finish()
            // The reject files are whole and durable in work/ before the entries leave the hold
            // store; the pending row commits with them (see the v7 migration).
            if !context.dryRun && !rejected.isEmpty {
                try rejects.seal()
                let xml = heldRejectsXML(rejected)
                exportID = xml.exportID
                try DropZone.makePrivateFolder(zone.work + "/" + context.runID)
                try AtomicFile.write(xml.data, to: Self.heldRejectsPartial(zone: zone, runID: context.runID, name: fileName), permissions: 0o600)
                try db.execute(sql: "INSERT INTO pending_reject_file (run_id, name, pipeline, run_date, export_id, records) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [context.runID, fileName, definition.name, context.runDate.iso, exportID, rejected.count])
            }
        }
        Failpoint.holdsCommitted.hit()
        if !context.dryRun && !rejected.isEmpty {
            try rejects.finish()
            try Self.placeHeldRejects(zone: zone, ledger: ledger, warehouse: warehouse, pipeline: definition.name, runID: context.runID, runDate: context.runDate, name: fileName, exportID: exportID, records: rejected.count, readmes: context.readmes, at: context.clock())
        }
        if !outcomes.isEmpty {
            context.logger.info("Held entries re-evaluated", metadata: ["stage": "holds", "pipeline": "\(definition.name)", "posted": "\(outcomes["posted"] ?? 0)", "held": "\(outcomes["held"] ?? 0)", "rejected": "\(outcomes["rejected"] ?? 0)"])
        }
        return outcomes
    }

    /// Where the reject XML of held entries waits in work/ for its transaction to commit.
    static func heldRejectsPartial(zone: DropZone, runID: String, name: String) -> String {
        zone.work + "/" + runID + "/" + name + ".partial"
    }

    /// Expired and definitely rejected held entries, as a timesheet export in the interface's
    /// shape (contract §2.6), to stand beside their JSON lines: a reviewer fixes and resubmits it
    /// like any other reject file. The entries come from the hold store (their original bytes
    /// are in the archive); notes are not kept with holds and are not repeated.
    func heldRejectsXML(_ entries: [TimeEntry]) -> (data: Data, exportID: String) {
        let byTimesheet = Dictionary(grouping: entries, by: \.timesheetID)
        var body = ""
        var total: Decimal = 0
        for (timesheet, list) in byTimesheet.sorted(by: { $0.key < $1.key }) {
            let first = list[0]
            body += "  <Timesheet id=\"\(SnapshotWriter.escape(timesheet))\" worker=\"\(SnapshotWriter.escape(first.content.pernr))\" weekStart=\"\(first.weekStart.iso)\" status=\"approved\">\n"
            for e in list {
                total += e.content.hours
                body += "    <Entry id=\"\(SnapshotWriter.escape(e.entryID))\" date=\"\(e.content.date.iso)\" project=\"\(SnapshotWriter.escape(e.content.project))\" hours=\"\(DecimalText.format(e.content.hours, scale: 2))\" category=\"\(SnapshotWriter.escape(e.content.category))\"/>\n"
            }
            body += "  </Timesheet>\n"
        }
        let exportID = "HELD-\(context.runDate.compact)-\(context.runID.suffix(4))"
        let ns = definition.extract.root.namespace.map { " xmlns=\"\($0)\"" } ?? ""
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(definition.extract.root.local)\(ns) exportId=\"\(exportID)\" sourceSystem=\"PSA\" generatedAt=\"\(PipelineRunner.timestamp(context.clock(), timeZone: settings.timeZone))\" businessDate=\"\(context.runDate.iso)\" schemaVersion=\"2\">\n"
            + body + "  <Control timesheetCount=\"\(byTimesheet.count)\" entryCount=\"\(entries.count)\" totalHours=\"\(DecimalText.format(total, scale: 2))\"/>\n</\(definition.extract.root.local)>\n"
        return (Data(xml.utf8), exportID)
    }

    /// Puts the committed reject files of held entries in `rejected/<pipeline>/<run-id>/` (the
    /// JSON lines and the XML still in work/, if any), records the XML in the ledger, writes the
    /// folder's README and drops the pending row: after the re-evaluation, or in the next run's
    /// recovery when the run died in between (every step can be taken again).
    static func placeHeldRejects(zone: DropZone, ledger: Ledger, warehouse: DatabaseQueue, pipeline: String, runID: String, runDate: BusinessDate, name: String, exportID: String, records: Int, readmes: RejectReadme, at date: Date) throws {
        let dir = zone.rejectFolder(pipeline: pipeline, runID: runID)
        try DropZone.makePrivateFolder(dir)
        let work = zone.work + "/" + runID + "/" + name
        for (from, to) in [(work + ".rejects.jsonl.partial", name + ".rejects.jsonl"), (heldRejectsPartial(zone: zone, runID: runID, name: name), name)] where FileManager.default.fileExists(atPath: from) {
            do { try zone.placeReject(from, pipeline: pipeline, runID: runID, as: to) } catch {
                throw RunError.io("the rejected held entries in \(from) could not be put in \(dir): \(ErrorText.describe(error)). They stay in work/; fix the folder, then run again.")
            }
        }
        try ledger.recordRejectFile(.init(path: "rejected/\(pipeline)/\(runID)/\(name)", pipeline: pipeline, run_id: runID, original_name: name, original_export_id: exportID, derived_export_id: exportID, records: records, created_at: ISO8601DateFormatter().string(from: date)), seq: 1)
        try readmes.write(folder: dir, pipeline: pipeline, runID: runID, runDate: runDate, zoneRoot: zone.root)
        try warehouse.write { try $0.execute(sql: "DELETE FROM pending_reject_file WHERE run_id = ? AND name = ?", arguments: [runID, name]) }
    }

    // MARK: ERP labor file

    /// The names of a run date's ERP labor files (contract §7.1): the prefix, numbered on.
    static func laborPrefix(company: String, runDate: BusinessDate) -> String { "ERP_LABOR_\(company)_\(runDate.compact)" }
    static func laborName(prefix: String, seq: Int) -> String { "\(prefix)_\(zeroPad(seq, 3)).xml" }

    /// Assigns every unsent posting to a new ERP labor file, reserved in the warehouse with them;
    /// whether there were any.
    func reserveLaborFile(createdAt: String) throws -> Bool {
        var reserved = false
        try warehouse.inTransaction { db in
            let assigned = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(last_seq), 0) FROM outbound_file WHERE kind = 'erp_labor'") ?? 0
            guard let last = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM posting_row"), last > assigned else { return .commit }
            reserved = true
            let prefix = Self.laborPrefix(company: settings.company, runDate: context.runDate)
            let name = try OutboundQueue.reserve(db, name: { Self.laborName(prefix: prefix, seq: $0) }, prefix: prefix, target: load.target, kind: "erp_labor", pipeline: definition.name, loadIndex: nil, businessDate: nil, context: context, createdAt: createdAt)
            // The exports' earliest generated-at is recorded as the file is written
            // (`OutboundQueue.writeLabor`), from the postings it reads anyway.
            try db.execute(sql: "UPDATE outbound_file SET first_seq = ?1, last_seq = ?2 WHERE name = ?3", arguments: [assigned + 1, last, name])
            return .commit
        }
        return reserved
    }

    // MARK: utilization

    /// Recomputes every ISO week that received a posting since the last refresh (marked in
    /// `utilization_due` with the posting): table rows and CSV, which replaces the earlier one.
    func refreshUtilization() throws -> [RunSummary.Output] {
        let mondays = try warehouse.read { try String.fetchAll($0, sql: "SELECT iso_week_monday FROM utilization_due ORDER BY iso_week_monday") }
        let weeks = mondays.compactMap { BusinessDate(iso: $0) }.map { ISOWeek(containing: $0) }
        // Every due week in one pass over the workers; nothing they read changes until the run
        // ends (it holds the zone's lock), and a week stays due until its rows and file are written.
        let rowsOfWeeks = try warehouse.read { try UtilizationQuery.rows($0, weeks: weeks) }
        var outputs: [RunSummary.Output] = []
        for (week, rows) in zip(weeks, rowsOfWeeks) {
            try warehouse.write { db in
                try db.execute(sql: "DELETE FROM utilization_weekly WHERE iso_week = ?", arguments: [week.label])
                for r in rows {
                    try db.execute(sql: "INSERT INTO utilization_weekly (\(UtilizationRow.columns.joined(separator: ", "))) VALUES (\(UtilizationRow.columns.map { _ in "?" }.joined(separator: ", ")))",
                                   arguments: StatementArguments(r.fields.enumerated().map { i, v -> DatabaseValueConvertible? in i == 6 ? r.workers : v }))
                }
            }
            let dir = zone.outbound + "/analytics"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let name = "UTILIZATION_FACTS_\(week.label).csv"
            let digest = try AtomicFile.stream(to: dir + "/" + name) { sink in
                try sink(Data((UtilizationRow.columns.joined(separator: ",") + "\n").utf8))
                for r in rows { try sink(Data((r.fields.map { $0 ?? "" }.joined(separator: ",") + "\n").utf8)) }
            }
            try AtomicFile.writeCompanions(of: dir + "/" + name, digest: digest, checksum: false)
            try warehouse.write { try $0.execute(sql: "DELETE FROM utilization_due WHERE iso_week_monday = ?", arguments: [week.monday.iso]) }
            outputs.append(.init(path: "outbound/analytics/\(name)", pipeline: definition.name, sha256: digest, records: rows.count))
        }
        return outputs
    }
}

/// Reads what the weeks' utilization needs from the warehouse in one pass, a worker at a time:
/// the workers table in key order (pernr, valid_from) merged with each week's posted hours
/// (`posted_week`, each week in pernr order), so memory holds one worker and the weeks' group
/// sums, whatever the workforce. (A pass per week read and parsed every worker again for every
/// week a night touched: 47 times over on the 1 GB night.)
enum UtilizationQuery {
    static func rows(_ db: Database, week: ISOWeek) throws -> [UtilizationRow] { try rows(db, weeks: [week])[0] }

    /// The rows of each week, in the order given.
    static func rows(_ db: Database, weeks: [ISOWeek]) throws -> [[UtilizationRow]] {
        let groups = UtilizationWeek.Groups()
        var results = weeks.map { UtilizationWeek($0, groups: groups) }
        guard !weeks.isEmpty, try db.tableExists("workers") else { return results.map { $0.rows() } }
        let workers = try RawStatement(db, "SELECT pernr, valid_from, valid_to, region, practice, job_code, billable_role, std_hours_week FROM workers ORDER BY pernr, valid_from")
        let posted = try weeks.map { week in
            let s = try RawStatement(db, "SELECT pernr, bucket, hours_cents FROM posted_week WHERE monday = ? ORDER BY pernr, bucket")
            s.bind(week.monday.iso)
            return s
        }
        defer {
            workers.reset()
            for s in posted { s.reset() }
        }
        var nextWorker = try workers.step() ? workers.text(0) : nil
        var nextPosted = try posted.map { try $0.step() ? $0.text(0) : nil }
        // SQLite orders text by its bytes.
        func before(_ a: String, _ b: String) -> Bool { a.utf8Precedes(b) }
        // A worker's posted hours of one week, kept for the next (no array made per worker-week).
        var hours: [(bucket: String, hundredths: Int64)] = []
        while true {
            // The smallest pernr still ahead in any of the streams.
            var next = nextWorker
            for case let p? in nextPosted where next.map({ before(p, $0) }) ?? true { next = p }
            guard let pernr = next else { break }
            var ranges: [WorkerRange] = []
            while let w = nextWorker, w == pernr {
                if let r = TimePostingStage.workerRange(workers, from: 1) { ranges.append(r) }
                nextWorker = try workers.step() ? workers.text(0) : nil
            }
            // Already in order of their start (the key's second column).
            for i in weeks.indices {
                hours.removeAll(keepingCapacity: true)
                while let p = nextPosted[i], p == pernr {
                    hours.append((posted[i].text(1) ?? "", posted[i].int64(2) ?? 0))
                    nextPosted[i] = try posted[i].step() ? posted[i].text(0) : nil
                }
                // Every worker whose ranges touch the week, or who has hours posted in it.
                let week = weeks[i]
                if !hours.isEmpty || ranges.contains(where: { $0.from <= week.sunday && $0.to >= week.monday }) {
                    results[i].add(sorted: ranges, postings: hours)
                }
            }
        }
        return results.map { $0.rows() }
    }
}
