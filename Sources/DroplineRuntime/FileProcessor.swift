import DroplineCore
import DroplineExtract
import DroplineLoad
import DroplineTransform
import DroplineValidate
import DroplineXML
import Foundation
import GRDB
import Logging

/// Takes one claimed file through identify -> extract -> transform -> validate -> load, in one
/// warehouse transaction, and puts it in exactly one place: archive or quarantine.
final class FileProcessor {
    let zone: DropZone
    let settings: ZoneSettings
    let context: RunContext
    let ledger: Ledger
    let warehouse: DatabaseQueue
    var schemas: [String: XMLSchema] = [:]
    /// Digests already computed this run (by file name), used once.
    var knownDigests: [String: (hex: String, bytes: Int64)] = [:]
    /// In a dry run, the entries whose postings are kept (`TimePostingRun.repeatedEntries`) while
    /// the time pipeline's files are processed; nil keeps every posting.
    var repeatedEntries: Set<String>?

    init(zone: DropZone, settings: ZoneSettings, context: RunContext, ledger: Ledger, warehouse: DatabaseQueue) {
        self.zone = zone
        self.settings = settings
        self.context = context
        self.ledger = ledger
        self.warehouse = warehouse
    }

    struct Outcome {
        var result: RunSummary.FileResult
        var businessDate: BusinessDate?
        /// What is left to do of a file whose load committed, when `process` was asked to leave
        /// it (`completeLater`): its reject files put in place (the cut of the reject XML waited
        /// for), the ledger entry, the move to the archive. Until it runs, the file and the cut's
        /// plan are in work/ as a run that died after the commit leaves them; recovery completes
        /// them the same way.
        var completion: (() throws -> Void)?
    }

    /// Processes a file at `path` (claimed into work/, or in the inbox for a dry run).
    /// Throws `RunError.io` when storage fails (disk full, I/O error): the run stops, the file
    /// stays claimed in work/ and the next run takes it again. `completeLater`: a loaded file's
    /// last steps are returned (`Outcome.completion`) rather than run.
    func process(name: String, path: String, definition d: PipelineDefinition, reprocessOf: String? = nil, completeLater: Bool = false) throws -> Outcome {
        var logger = context.logger
        logger[metadataKey: "pipeline"] = "\(d.name)"
        logger[metadataKey: "file"] = "\(name)"
        // Identify: same bytes seen before (a deliberate reprocess skips this check). A file of
        // a size no file in the ledger has cannot be a duplicate: it is hashed while it is read.
        let digest: PendingDigest
        if reprocessOf == nil, let known = knownDigests.removeValue(forKey: name) {
            digest = PendingDigest(known)
        } else if let size = FileDigest.size(of: path), try reprocessOf != nil || !ledger.seen(bytes: size) {
            digest = PendingDigest(hashing: path, bytes: size)
        } else { do { digest = PendingDigest(try FileDigest.sha256(path: path)) } catch {
            return try quarantine(name: name, path: path, pipeline: d.name, sha: "", bytes: 0, failure: FileFailure(.unreadableFile, "the file could not be read: permission denied or I/O error"), logger: logger)
        } }
        var result = RunSummary.FileResult(name: name, pipeline: d.name, sha256: "", outcome: "loaded", reason: nil, message: nil, records: [:], reasons: [:])
        // The sha256 of whatever the outcome, once the file was read (nil: it could not be hashed).
        func sha() -> String { (try? digest.value().hex) ?? "" }

        if reprocessOf == nil, !digest.isPending, let prior = try ledger.seen(sha256: try digest.value().hex) {
            result.sha256 = sha()
            result.outcome = "skipped"
            result.reason = ReasonCode.duplicateFile.rawValue
            result.message = "byte-identical to \(prior.name) taken in run \(prior.runID); nothing loaded"
            logger.info("File skipped as duplicate", metadata: ["stage": "identify", "code": "duplicate_file"])
            if !context.dryRun {
                let location = archiveDestination(name: name, pipeline: d.name)
                try ledger.record(.init(runID: context.runID, pipeline: d.name, name: name, sha256: sha(), bytes: digest.bytes, exportID: nil, businessDate: nil, outcome: "skipped", reason: ReasonCode.duplicateFile.rawValue, location: location, loaded: 0, rejected: 0), at: context.clock())
                try move(path, to: location)
            }
            return Outcome(result: result)
        }
        let maxBytes = min(d.inbox.maxFileBytes, settings.maxFileBytes)
        if digest.bytes > maxBytes {
            return try quarantine(name: name, path: path, pipeline: d.name, sha: sha(), bytes: digest.bytes, failure: FileFailure(.sizeLimit, "the file has \(digest.bytes) bytes; max_file_bytes is \(maxBytes). Check the export with the sender; raise the limit only if the file is legitimate."), logger: logger)
        }

        // Extract -> transform -> validate -> load, one transaction.
        let rejects = RejectWriter(zone: zone, pipeline: d.name, runID: context.runID, fileName: name, dryRun: context.dryRun)
        var exportID: String?
        var businessDate: BusinessDate?
        var generatedAt: String?
        var counts = ["loaded": 0, "rejected": 0, "held": 0, "skipped": 0]
        var reasons: [String: Int] = [:]
        var superseded = 0
        var rejectDocument = RejectDocument()
        var cut: RejectCut?
        let started = Date()
        do {
            let schema = try d.extract.schemaPath.map(schema(at:))
            let extractor = XMLRecordExtractor(definition: d.extract, schema: schema, limits: XMLLimits(maxUnitBytes: min(settings.maxRecordBytes, d.extract.maxRecordBytes), maxDepth: settings.maxDepth, maxAttributes: settings.maxAttributes, maxTextBytes: settings.maxTextBytes))
            let transformer = RecordTransformer(transforms: d.transforms)
            let shapes = Dictionary(uniqueKeysWithValues: d.extract.records.map { ($0.name, d.fieldShape(of: $0.name).map(\.name)) })
            let parents = Dictionary(uniqueKeysWithValues: d.extract.records.compactMap { r in r.parent.map { (r.name, $0) } })
            // Header records (timesheets) are not counted themselves; the faults of any parent
            // reach every record inside it.
            let containers = Set(d.extract.records.filter(\.isHeader).map(\.name))
            let hasChildren = Set(parents.values)
            let posting = d.timePosting
            try warehouse.unitOfWork(dryRun: context.dryRun, spool: context.laborSpool) { db in
                try WarehouseSession.ensureSchema(db, for: d)
                let session = WarehouseSession(db: db, runID: context.runID)
                let stage = try posting.map { try TimePostingStage(db: db, load: $0, settings: settings, runID: context.runID, runDate: context.runDate, audit: !context.dryRun, writeBehind: true, expectedEntries: Int(digest.bytes / 100), spool: context.laborSpool,
                                                                  keepingPostingsOf: context.dryRun ? repeatedEntries : nil) }
                defer { stage?.close() }
                if let stage { session.beforeAccess = { try stage.drainWrites() } }
                let validator = RecordValidator(rules: d.validations, lookup: session)
                var conflict: FileFailure?
                var rejectedParents: [String: [RecordIssue]] = [:]
                // On the parsing thread: transforms and, for time entries, the fields the stage reads.
                let entryType = posting?.record
                var facts = TypeFacts()
                // Every type's facts, once: a file's types alternate (a timesheet, its entries,
                // the next timesheet), and each change looked them up by name again.
                var factsOfTypes: [TypeFacts] = []
                var tally = Array(repeating: 0, count: RecordOutcome.allCases.count)
                // A dry run reads the entry's fields on the deciding thread (`handle` makes the
                // draft when there is none): without the writes, the parsing thread is the one
                // that bounds it.
                let draftType = context.dryRun ? nil : entryType
                let draftTransformed = draftType.map(transformer.changes) ?? false
                // Where the fields were in the entry before, on each thread that makes drafts.
                var parsingPlaces = TimePostingStage.DraftPlaces()
                var decidingPlaces = TimePostingStage.DraftPlaces()
                // The parsing thread transforms only the entries whose draft it makes (the draft
                // reads the transformed entry); every other record is transformed where it is
                // handled. The parsing thread is the one that bounds a master data file: on
                // 139,824 workers it ran 1.7 G instructions to the loading thread's 0.9 G, and
                // the worker transforms (display name, e-mail hash) were 0.16 G of it.
                let prepare = { (r: DroplineCore.Record) -> Prepared in
                    // A record no transform changes travels once (copied, it was a second record
                    // to hand over and destroy).
                    guard r.type == draftType else { return Prepared(transformed: nil, draft: nil) }
                    guard draftTransformed else { return Prepared(transformed: nil, draft: TimePostingStage.draft(of: r, places: &parsingPlaces)) }
                    var t = r
                    transformer.apply(&t)
                    return Prepared(transformed: t, draft: TimePostingStage.draft(of: t, places: &parsingPlaces))
                }
                func handle(_ extracted: DroplineCore.Record, _ prepared: Prepared) throws {
                    // The record after its transforms, unless it had a fault before them (its
                    // parent's, schema or cast: not evaluated further). Passed on as an argument:
                    // bound to a local, it was a copy of the record (every part retained and
                    // released again) for every record.
                    guard extracted.issues.isEmpty, parentIssues(of: extracted) == nil else {
                        return try handle(extracted, prepared, transformed: extracted)
                    }
                    if let transformed = prepared.transformed {
                        try handle(extracted, prepared, transformed: transformed)
                    } else if facts.transformed {
                        // Not transformed by the parsing thread (only entries it drafts are).
                        var t = extracted
                        transformer.apply(&t)
                        try handle(extracted, prepared, transformed: t)
                    } else {
                        try handle(extracted, prepared, transformed: extracted)
                    }
                }
                /// The faults of the record's parent, if it was rejected. What the definition says
                /// of the record's type is looked up once per run of records of one type (no
                /// hashing of the type name per record).
                func parentIssues(of extracted: DroplineCore.Record) -> [RecordIssue]? {
                    if extracted.type != facts.type {
                        if let known = factsOfTypes.first(where: { $0.type == extracted.type }) {
                            facts = known
                        } else {
                            facts = TypeFacts(extracted.type, parents: parents, hasChildren: hasChildren, containers: containers, transformer: transformer)
                            factsOfTypes.append(facts)
                        }
                    }
                    // Mostly no parent is rejected: no name to hash.
                    return rejectedParents.isEmpty ? nil : facts.parent.flatMap { rejectedParents[$0] }
                }
                func handle(_ extracted: DroplineCore.Record, _ prepared: Prepared, transformed record: DroplineCore.Record) throws {
                    var issues: [RecordIssue] = []
                    var outcome = RecordOutcome.loaded
                    let parentIssues = parentIssues(of: extracted)
                    if let parentIssues {
                        issues = parentIssues
                    } else if !extracted.issues.isEmpty {
                        issues = extracted.issues
                    } else {
                        let checked = try validator.check(record)
                        issues = record.issues.isEmpty ? checked : record.issues + checked
                        if issues.isEmpty, let stage, record.type == stage.load.record {
                            // The draft passed as it is (`??` made a copy of it for every entry).
                            let decided: TimePostingStage.Outcome
                            if let draft = prepared.draft {
                                decided = try stage.entry(draft, exportID: exportID ?? "", businessDate: businessDate ?? context.runDate, fileName: name)
                            } else {
                                decided = try stage.entry(TimePostingStage.draft(of: record, places: &decidingPlaces), exportID: exportID ?? "", businessDate: businessDate ?? context.runDate, fileName: name)
                            }
                            switch decided {
                            case .posted: outcome = .loaded
                            case .held(let reason):
                                outcome = .held
                                reasons[reason.rawValue, default: 0] += 1
                            case .skipped: outcome = .skipped
                            case .rejected(let list): issues = list
                            }
                        } else if issues.isEmpty {
                            if let stage, record.type == stage.load.header {
                                try stage.header(record, exportID: exportID ?? "", businessDate: businessDate ?? context.runDate)
                            }
                            if let issue = try session.load(record, with: d.loads, shape: shapes[record.type] ?? []) { issues = [issue] }
                        }
                    }
                    if facts.hasChildren {
                        if issues.isEmpty { if !rejectedParents.isEmpty { rejectedParents.removeValue(forKey: record.type) } } else { rejectedParents[record.type] = issues }
                    }
                    if facts.isContainer { return }
                    if !issues.isEmpty {
                        if let stage, record.type == stage.load.record, outcome == .loaded, issues.allSatisfy({ $0.code == .invalidField }) {
                            // Rejected before the rules ran: still one evaluation of the entry.
                            try stage.rejectedBeforeEvaluation(extracted, exportID: exportID ?? "", issues: issues)
                        }
                        outcome = .rejected
                        let rejection = Rejection(recordType: record.type, key: Self.key(record, d), line: record.line, issues: issues)
                        reasons[rejection.primary.rawValue, default: 0] += 1
                        try rejects.append(rejection)
                        // A dry run cuts no reject file: its positions are not gathered (past
                        // 32 k of them they went to a temporary file, a write a dry run need not make).
                        if !context.dryRun { try rejectDocument.add(extracted, definition: d) }
                    }
                    tally[outcome.rawValue] += 1
                }
                let progress = context.progressSink.flatMap { FileProgress(sink: $0, name: name, totalBytes: digest.bytes) }
                defer { progress?.finish() }
                // A dry run's deciding thread has time to spare and its parsing thread none, so the
                // records are destroyed where they were handled; in a run it is the other way
                // round. 1 GB night, three rounds each: dry run 18.66-19.12 s -> 17.88-18.63 s,
                // run 31.10-32.57 s -> 32.47-34.15 s when destroyed where handled.
                _ = try extractor.runConcurrently(path: path, emptiedByHandler: context.dryRun, prepare: prepare, header: { header in
                    exportID = header["export_id"]?.text
                    businessDate = header["business_date"]?.date
                    generatedAt = header["generated_at"]?.text
                    session.setExport(id: exportID ?? "")
                    if let exportID, let prior = try ledger.loadedExport(pipeline: d.name, exportID: exportID), prior.sha256 != (try digest.value().hex) {
                        conflict = FileFailure(.exportIdConflict, "export id \(exportID) was already loaded from \(prior.name) with different content. Quarantined; nothing loaded. Ask the sender for a new export id, or confirm which version is right.")
                    }
                }, records: { batch in
                    try batch.forEach(handle)
                    progress?.update(bytes: batch.bytesRead, records: tally.reduce(0, +))
                })
                counts = Dictionary(uniqueKeysWithValues: RecordOutcome.allCases.map { ("\($0)", tally[$0.rawValue]) })
                if let conflict { throw conflict }
                // The reject XML is cut from the original on another thread while the last
                // writes run and the transaction commits; it is put in place after the commit.
                // Its plan and the JSON lines are durable before the commit: a run that dies
                // after it leaves recovery all it needs to put both in place.
                if !context.dryRun && !rejectDocument.isEmpty {
                    try rejects.seal()
                    cut = try startRejectCut(rejectDocument, source: path, name: name, definition: d, exportID: exportID)
                }
                try stage?.finish()
                superseded = stage?.superseded ?? 0
                if d.loads.contains(where: { if case .snapshotFile(let f) = $0 { f.sendOnce == nil } else { false } }) {
                    try db.execute(sql: "INSERT INTO snapshot_due (pipeline, business_date) VALUES (?, ?) ON CONFLICT(pipeline) DO UPDATE SET business_date = MAX(COALESCE(excluded.business_date, ''), COALESCE(snapshot_due.business_date, ''))", arguments: [d.name, businessDate?.iso])
                }
                try db.execute(sql: "INSERT OR REPLACE INTO _dropline_file_load (sha256, pipeline, name, export_id, business_date, generated_at, run_id, loaded, rejected, held, skipped, reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               arguments: [try digest.value().hex, d.name, name, exportID, businessDate?.iso, generatedAt, context.runID, counts["loaded"], counts["rejected"], counts["held"], counts["skipped"], Ledger.encode(reasons)])
            }
            Failpoint.fileCommitted.hit()
        } catch let failure as FileFailure {
            cut?.abandon()
            rejects.discard()
            return try quarantine(name: name, path: path, pipeline: d.name, sha: sha(), bytes: digest.bytes, failure: failure, logger: logger, exportID: exportID, businessDate: businessDate)
        } catch {
            cut?.abandon()
            rejects.discard()
            if let io = StorageFailure.classify(error) {
                logger.error("Storage failed; run stopped", metadata: ["stage": "load", "error": "\(io)"])
                throw RunError.io("storage failed while loading \(name): \(io). Nothing half-written was kept; free space or fix the disk, then run again.")
            }
            logger.error("File failed with an internal error", metadata: ["stage": "load", "error": "\(type(of: error))"])
            return try quarantine(name: name, path: path, pipeline: d.name, sha: sha(), bytes: digest.bytes, failure: FileFailure(.unreadableFile, "internal error while loading: \(error)"), logger: logger, exportID: exportID, businessDate: businessDate)
        }
        // Waited for in the transaction already.
        result.sha256 = sha()
        result.records = counts
        result.reasons = reasons
        if superseded > 0 { result.superseded = superseded }
        let loaded = counts["loaded"] ?? 0
        let complete = { [self] in
            if !context.dryRun {
                do {
                    try rejects.finish()
                    if let cut { try finishRejectCut(cut, definition: d, rejects: rejects) }
                } catch {
                    // The load is committed: the file, its rejected records and the cut's plan
                    // stay in work/, and the next run's recovery puts them in place (cutting the
                    // XML again). Going on would have deleted them with the work folder.
                    cut?.abandon(keepingPlan: true)
                    logger.error("Reject file not written", metadata: ["stage": "reject", "error": "\(type(of: error))"])
                    throw RunError.io("the rejected records of \(name) could not be written to rejected/\(d.name) (\(ErrorText.describe(error))). Its load is committed; the file and its rejects stay in work/ and the next run completes them: free space or fix the folder, then run again.")
                }
                try recordLoaded(path: path, runID: context.runID, pipeline: d.name, name: name, digest: try digest.value(), exportID: exportID, businessDate: businessDate?.iso,
                                 counts: (loaded, rejects.count, counts["held"] ?? 0, counts["skipped"] ?? 0), reasons: reasons, reprocessOf: reprocessOf)
            }
            logger.info("File loaded", metadata: ["stage": "load", "loaded": "\(loaded)", "rejected": "\(rejects.count)", "duration_ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
        }
        guard completeLater, !context.dryRun else {
            try complete()
            return Outcome(result: result, businessDate: businessDate)
        }
        return Outcome(result: result, businessDate: businessDate, completion: complete)
    }

    /// Records a loaded file in the ledger, with its lineage, and archives it: after its load
    /// committed, by the run that loaded it or by the next run's recovery.
    func recordLoaded(path: String, runID: String, pipeline: String, name: String, digest: (hex: String, bytes: Int64), exportID: String?, businessDate: String?,
                      counts: (loaded: Int, rejected: Int, held: Int, skipped: Int), reasons: [String: Int], reprocessOf: String?) throws {
        let location = archiveDestination(name: name, pipeline: pipeline)
        var entry = Ledger.FileEntry(runID: runID, pipeline: pipeline, name: name, sha256: digest.hex, bytes: digest.bytes, exportID: exportID, businessDate: businessDate, outcome: "loaded", reason: nil, location: location, loaded: counts.loaded, rejected: counts.rejected, reprocessOf: reprocessOf)
        entry.held = counts.held
        entry.skipped = counts.skipped
        entry.reasons = reasons
        entry.resubmissionOf = try ledger.resubmission(name: name, sha256: digest.hex)?.rejectPath
        try ledger.record(entry, at: context.clock())
        try move(path, to: location)
    }

    /// Where the cut of the reject XML of the input at `source` (in work/) goes before it is put
    /// in place, and its plan (`RejectDocument.savePlan`): beside the input, never taken for one.
    static func rejectCutPaths(source: String) -> (partial: String, plan: String) {
        (source + ".rejects.xml.partial", source + ".rejects.plan.partial")
    }

    /// Saves the document's plan (durable before the load commits), then starts cutting the
    /// reject XML out of `source` into a partial file beside it in work/ (a run that dies leaves
    /// nothing of it in rejected/; recovery cuts it again from the plan), with the export id it
    /// will have, `<id>-R<NNN>`.
    func startRejectCut(_ doc: RejectDocument, source: String, name: String, definition d: PipelineDefinition, exportID: String?) throws -> RejectCut {
        let original = RejectExportID.base(of: exportID ?? name)
        let seq = try ledger.nextRejectSequence(exportID: original)
        let paths = Self.rejectCutPaths(source: source)
        try doc.savePlan(to: paths.plan, original: original, seq: seq)
        return RejectCut(doc, source: source, partial: paths.partial, plan: paths.plan, definition: d, original: original, seq: seq, name: name)
    }

    /// Waits for the cut, puts the reject XML beside the JSON lines and records it; rewrites the
    /// folder's README.txt (this file's tally from its writer: `RejectReadme`). The plan goes last:
    /// while it stands, recovery completes what a dying run left of these steps.
    func finishRejectCut(_ cut: RejectCut, definition d: PipelineDefinition, rejects: RejectWriter) throws {
        let dir = zone.rejectFolder(pipeline: d.name, runID: context.runID)
        if try cut.wait() {
            try placeRejectCut(partial: cut.partial, pipeline: d.name, runID: context.runID, name: cut.name, original: cut.original, seq: cut.seq, records: rejects.count)
        }
        context.readmes.remember(folder: dir, name: rejects.fileName + ".rejects.jsonl", records: rejects.count, byReason: rejects.byReason)
        try context.readmes.write(folder: dir, pipeline: d.name, runID: context.runID, runDate: context.runDate, zoneRoot: zone.root)
        unlink(cut.plan)
    }

    /// Puts a cut reject XML in `rejected/<pipeline>/<run-id>/` under the input's name and
    /// records it in the ledger (again, after a crash: the same row).
    func placeRejectCut(partial: String, pipeline: String, runID: String, name: String, original: String, seq: Int, records: Int) throws {
        let target = try zone.placeReject(partial, pipeline: pipeline, runID: runID, as: name)
        Failpoint.rejectCutPlaced.hit()
        try ledger.recordRejectFile(.init(path: String(target.dropFirst(zone.root.count + 1)), pipeline: pipeline, run_id: runID, original_name: name, original_export_id: original, derived_export_id: RejectExportID.derive(base: original, sequence: seq), records: records, created_at: ISO8601DateFormatter().string(from: context.clock())), seq: seq)
    }

    func schema(at path: String) throws -> XMLSchema {
        if let s = schemas[path] { return s }
        let s = try XMLSchema(path: path)
        schemas[path] = s
        return s
    }

    static func key(_ record: DroplineCore.Record, _ d: PipelineDefinition) -> String? {
        let key = d.record(named: record.type)?.key ?? []
        guard !key.isEmpty else { return nil }
        return key.map { record[$0].text ?? "" }.joined(separator: "/")
    }

    // MARK: placing files

    /// `archive/<pipeline>/YYYY/MM/DD/<name>` by run date (zone-relative); never an existing name.
    func archiveDestination(name: String, pipeline: String) -> String {
        let d = context.runDate
        return destination(name: name, in: "\(zone.archive)/\(pipeline)/\(zeroPad(d.year, 4))/\(zeroPad(d.month, 2))/\(zeroPad(d.day, 2))")
    }

    /// Sets the file aside with its reason beside it. The sidecar and the ledger entry are written
    /// before the file moves, and a failure to write either stops the run with the file where it
    /// is (in `work/`, or the inbox for a file never claimed), for the next run.
    func quarantine(name: String, path: String, pipeline: String, sha: String, bytes: Int64, failure: FileFailure, logger: Logger, exportID: String? = nil, businessDate: BusinessDate? = nil) throws -> Outcome {
        var metadata: Logger.Metadata = ["stage": "quarantine", "code": "\(failure.code.rawValue)"]
        if let line = failure.line { metadata["line"] = "\(line)" }
        logger.warning("File quarantined", metadata: metadata)
        let result = RunSummary.FileResult(name: name, pipeline: pipeline, sha256: sha, outcome: "quarantined", reason: failure.code.rawValue, message: failure.summary, records: [:], reasons: [:])
        guard !context.dryRun else { return Outcome(result: result) }
        let location = destination(name: name, in: zone.quarantine + "/" + pipeline)
        let sidecar = QuarantineRecord(format_version: 1, file: name, pipeline: pipeline, reason: failure.code.rawValue, message: failure.message, line: failure.line, column: failure.column, byte_offset: failure.byteOffset, run_id: context.runID, sha256: sha, what_to_do: failure.code.remedy)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try AtomicFile.write(try encoder.encode(sidecar) + Data("\n".utf8), to: zone.root + "/" + location + ".error.json", permissions: 0o600)
        } catch {
            throw RunError.io("\(name) could not be quarantined: \(location).error.json cannot be written (\(ErrorText.describe(error))). It stays in \((path as NSString).deletingLastPathComponent); fix the folder, then run again.")
        }
        try ledger.record(.init(runID: context.runID, pipeline: pipeline, name: name, sha256: sha, bytes: bytes, exportID: exportID, businessDate: businessDate?.iso, outcome: "quarantined", reason: failure.code.rawValue, location: location, loaded: 0, rejected: 0), at: context.clock())
        try move(path, to: location)
        return Outcome(result: result)
    }

    /// A free name for the file in a private folder (created), zone-relative. The ledger records
    /// it before the file moves, so an interrupted run's file is put exactly there.
    func destination(name: String, in dir: String) -> String {
        try? DropZone.makePrivateFolder(dir)
        var target = dir + "/" + name
        if FileManager.default.fileExists(atPath: target) { target = dir + "/" + name + "." + context.runID }
        return String(target.dropFirst(zone.root.count + 1))
    }

    /// Moves a file (and its done marker's fate: removed) to a zone-relative location. A file
    /// that cannot be moved stops the run and stays where it is (in `work/`, where the next run's
    /// recovery puts it where the ledger says).
    func move(_ path: String, to location: String) throws {
        let target = zone.root + "/" + location
        func stop(_ why: String) -> RunError {
            context.logger.error("File could not be moved", metadata: ["file": "\((path as NSString).lastPathComponent)", "to": "\(location)"])
            return RunError.io("\((path as NSString).lastPathComponent) could not be moved to \(location): \(why). It stays in \((path as NSString).deletingLastPathComponent); fix the folder, then run again: the next run puts it there.")
        }
        do { try DropZone.makePrivateFolder((target as NSString).deletingLastPathComponent) } catch { throw stop("its folder cannot be made (\(ErrorText.describe(error)))") }
        guard rename(path, target) == 0 else { throw stop(ErrorText.system(errno)) }
        chmod(target, 0o600)
        AtomicFile.syncFolder(of: target)
        if FileManager.default.fileExists(atPath: path + ".done") { unlink(path + ".done") }
    }
}

/// A reject XML being cut on a thread of its own (`RejectDocument.write` into `partial`); the
/// caller no longer touches the document.
final class RejectCut {
    let partial: String
    let plan: String
    let original: String
    let derived: String
    let seq: Int
    let name: String
    let task: BackgroundTask<Bool>

    init(_ doc: RejectDocument, source: String, partial: String, plan: String, definition d: PipelineDefinition, original: String, seq: Int, name: String) {
        self.partial = partial
        self.plan = plan
        self.original = original
        let derived = RejectExportID.derive(base: original, sequence: seq)
        self.derived = derived
        self.seq = seq
        self.name = name
        // Handed over: the caller no longer touches the document.
        let doc = Unchecked(doc)
        task = BackgroundTask(name: "dropline-reject-cut") { try doc.value.write(source: source, target: partial, definition: d, newExportID: derived) }
    }

    /// Whether the document was written (false: the source cannot be cut); rethrows its error.
    func wait() throws -> Bool { try task.wait() }

    /// Waits and removes what was written: the plan too when the load did not commit.
    func abandon(keepingPlan: Bool = false) {
        _ = try? wait()
        unlink(partial)
        if !keepingPlan { unlink(plan) }
    }
}

/// Work run on a thread of its own; `wait()` joins it (once) and returns or rethrows its result.
final class BackgroundTask<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?
    private var joined = false

    init(name: String, _ work: @escaping () throws -> T) {
        let work = Unchecked(work)
        let thread = Thread { [self] in
            result = Result { try work.value() }
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    func wait() throws -> T {
        if !joined {
            done.wait()
            joined = true
        }
        return try result!.get()
    }
}

/// What a record counts as in a file's tally.
private enum RecordOutcome: Int, CaseIterable {
    case loaded, rejected, held, skipped
}

/// What a file's definition says of one record type, for the per-record loop.
private struct TypeFacts {
    var type = ""
    var parent: String?
    var hasChildren = false
    var isContainer = false
    /// Some transform changes records of the type.
    var transformed = false

    init() {}

    init(_ type: String, parents: [String: String], hasChildren: Set<String>, containers: Set<String>, transformer: RecordTransformer) {
        self.type = type
        parent = parents[type]
        self.hasChildren = hasChildren.contains(type)
        isContainer = containers.contains(type)
        transformed = transformer.changes(type)
    }
}

/// What the parsing thread prepared for a record: the record after its transforms (used only
/// when the record had no fault before them; nil when no transform applies to its type), and
/// what the time posting stage reads of an entry.
struct Prepared {
    var transformed: DroplineCore.Record?
    var draft: TimePostingStage.Draft?
}

/// `<name>.error.json` beside a quarantined file.
struct QuarantineRecord: Codable {
    var format_version: Int
    var file: String
    var pipeline: String
    var reason: String
    var message: String
    var line: Int?
    var column: Int?
    var byte_offset: Int?
    var run_id: String
    var sha256: String
    var what_to_do: String
}

