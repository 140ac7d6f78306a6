import DroplineCore
import DroplineLoad
import DroplineXML
import Foundation
import GRDB
import Logging

/// Runs the selected pipelines over a zone: scan the inbox, claim ready files, process them in
/// dependency order (then business date, then name), write outbound snapshots, summarise.
public final class PipelineRunner {
    let request: RunRequest
    let clock: @Sendable () -> Date

    public init(request: RunRequest, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.request = request
        self.clock = clock
    }

    /// Loads and checks the zone's definitions (exit 78 on any diagnostic).
    public static func definitions(zone: DropZone, settings: ZoneSettings, override: String?) throws -> [PipelineDefinition] {
        try loadDefinitions(directory: override ?? (settings.pipelines.hasPrefix("/") ? settings.pipelines : zone.root + "/" + settings.pipelines))
    }

    /// Every definition of a folder, checked together (`PipelineLoader.loadAll`, with the
    /// warehouse's own tables) and against its interface schema (`SchemaOutline`): what `run`
    /// and `lint` both read.
    public static func loadDefinitions(directory: String) throws -> [PipelineDefinition] {
        let definitions = try PipelineLoader().loadAll(directory: directory, builtInTables: Warehouse.builtInTables)
        try checkPaths(definitions)
        return definitions
    }

    /// Throws the paths that name what the definitions' schemas do not allow.
    public static func checkPaths(_ definitions: [PipelineDefinition]) throws {
        let diagnostics = definitions.flatMap(SchemaOutline.diagnostics(for:))
        if !diagnostics.isEmpty { throw DefinitionError(diagnostics) }
    }

    public func run() throws -> RunSummary {
        let zone = DropZone(root: request.root)
        guard zone.exists else { throw RunError.noZone("\(zone.root) is not a Dropline zone (no inbox/); create one with 'dropline init \(zone.root)'") }
        let settings = try ZoneSettings.load(root: zone.root)
        let definitions = try Self.definitions(zone: zone, settings: settings, override: request.pipelinesDirectory)
        for name in request.pipelines where !definitions.contains(where: { $0.name == name }) {
            throw RunError.unknownPipeline(name, among: definitions.map(\.name))
        }
        let selected = request.pipelines.isEmpty ? Set(definitions.map(\.name)) : Set(request.pipelines)
        try zone.createFolders()
        let lock = try RunLock(zone: zone)
        defer { withExtendedLifetime(lock) {} }

        let now = clock()
        let wallStart = Date()
        let runDate = request.asOf ?? settings.date(at: now)
        let ledger = try Ledger(path: zone.ledger)
        let runID = try Self.newRunID(now, ledger: ledger)
        let sink = JSONLineSink(path: zone.logs + "/dropline.jsonl", echoToStderr: request.echoLogs)
        var logger = Logger(label: "dropline") { _ in JSONLogHandler(sink: sink, clock: self.clock) }
        logger[metadataKey: "run_id"] = "\(runID)"
        let workDir = zone.work + "/" + runID
        let createdAt = Self.timestamp(now, timeZone: settings.timeZone)
        // Room for the header of the day's first labor file (any other's is as long, up to the 999th).
        let laborHeader = OutboundQueue.laborHeader(name: TimePostingRun.laborName(prefix: TimePostingRun.laborPrefix(company: settings.company, runDate: runDate), seq: 1),
                                                    company: settings.company, createdAt: createdAt)
        let context = RunContext(runID: runID, runDate: runDate, clock: clock, logger: logger, dryRun: request.dryRun, progressSink: sink,
                                 laborSpool: request.dryRun ? nil : LaborSpool(path: workDir + "/" + LaborSpool.fileName, headerRoom: laborHeader.count))
        defer { context.laborSpool?.discard() }
        logger.info("Run started", metadata: ["run_date": "\(runDate.iso)", "dry_run": "\(request.dryRun)", "pipelines": "\(selected.count)"])
        if let pid = lock.recoveredFromPID {
            logger.warning("Recovered the zone lock of a run that died", metadata: ["stage": "lock", "dead_pid": "\(pid)"])
        }

        if !request.dryRun { try ledger.startRun(id: runID, runDate: runDate, at: now, dryRun: false) }
        let warehousePath = settings.warehouse.hasPrefix("/") ? settings.warehouse : zone.root + "/" + settings.warehouse
        let warehouse = try Warehouse.open(path: warehousePath, dryRun: request.dryRun)
        if request.dryRun { try warehouse.beginDryRun() }
        defer { if request.dryRun { warehouse.endDryRun() } }
        // The log, the database file and the files the run makes in its work folder (labor
        // lines, reject lists, cut-out records) reach the disk as they are written, not all in
        // the syncs at the end of the load and of its checkpoint (which `checkpoints.stop()`
        // below waits for: the deferred stop of this runs after it).
        let writeback = request.dryRun ? nil : EarlyWriteback(paths: [warehousePath + "-wal", warehousePath], folders: [workDir])
        defer { writeback?.stop() }
        // A load's log is copied into the database file while the run goes on (outbound files,
        // utilization, manifests), not by the commit that ends it.
        let checkpoints = request.dryRun ? nil : warehouse.writeWithoutTransaction { CheckpointBehind(on: $0) }
        defer { if let checkpoints { warehouse.writeWithoutTransaction { _ in checkpoints.stop() } } }
        let processor = FileProcessor(zone: zone, settings: settings, context: context, ledger: ledger, warehouse: warehouse)

        var summary0: [RunSummary.Output] = []
        let outbound = OutboundQueue(zone: zone, settings: settings, context: context, warehouse: warehouse, definitions: definitions)
        if !request.dryRun {
            // Recovery of an interrupted run: its claimed files, reject files and manifests, then
            // the outbound files it reserved.
            let recovered = try WorkRecovery(zone: zone, context: context, ledger: ledger, warehouse: warehouse, processor: processor, definitions: definitions).run()
            if recovered > 0 { logger.warning("Recovered an interrupted run", metadata: ["stage": "recover", "files": "\(recovered)"]) }
            summary0 = try outbound.writePending()
        }
        let reprocess = try resolveReprocess(request.reprocess, zone: zone, ledger: ledger, definitions: definitions)
        // Settling compares file mtimes with the wall clock, whatever clock the run was given.
        let entries = request.takeInbox ? try InboxScanner(zone: zone, definitions: definitions, selected: selected, settleOverride: request.settleSeconds, now: Date()).scan() : []
        var summary = RunSummary(run_id: runID, run_date: runDate.iso, exit_code: 0, dry_run: request.dryRun, files: [], outputs: summary0, waiting: [])

        // Unsafe and unmatched entries first: they are quarantined without being read.
        for entry in entries {
            switch entry {
            case .unsafe(let name, let pipeline, let reason, let message):
                summary.files.append(try processor.quarantine(name: name, path: zone.inbox + "/" + name, pipeline: pipeline ?? "_unmatched", sha: "", bytes: 0, failure: FileFailure(reason, message), logger: logger).result)
            case .unmatched(let name):
                summary.files.append(try processor.quarantine(name: name, path: zone.inbox + "/" + name, pipeline: "_unmatched", sha: "", bytes: 0, failure: FileFailure(.noPipeline, "no pipeline's inbox pattern matches this file name"), logger: logger).result)
            case .waiting(let name):
                summary.waiting.append(name)
            case .ready: continue
            }
        }

        // What is left to do of the last file loaded (`FileProcessor.Outcome.completion`). A file
        // is completed before the next is loaded (its reject sequence reads the ledger entries
        // of the reject files before it) and before held entries are decided again (their
        // reject files go in the same folders, with the same README).
        var completion: (() throws -> Void)?
        func completeLast() throws {
            let last = completion
            completion = nil
            try last?()
        }
        /// The inbox files ready for the pipeline (name, has a `.done` marker), in load order.
        func readyFiles(of definition: PipelineDefinition) -> [(String, Bool)] {
            entries.compactMap { e -> (String, Bool)? in
                if case .ready(let name, let p, let marker) = e, p.name == definition.name { (name, marker) } else { nil }
            }.sorted { InboxScanner.orderKey($0.0) < InboxScanner.orderKey($1.0) }
        }
        func timePostingRun(of definition: PipelineDefinition) -> TimePostingRun? {
            definition.timePosting.map { TimePostingRun(zone: zone, settings: settings, context: context, ledger: ledger, warehouse: warehouse, definition: definition, load: $0) }
        }
        // A dry run keeps the postings of the entries that may come twice in its exports, no
        // others (archived files reprocessed are not read for it: every posting then). The
        // exports are read for them from the start, on a thread of their own, while the master
        // data files before them load: read when the time pipeline's turn came, the scan had
        // the run to itself (`bench/ab 4 100 A B --dry-run` 6.17 -> 5.71 s, 1 GB 60.63 -> 57.39 s).
        var repeatScans: [String: BackgroundTask<Set<String>?>] = [:]
        if request.dryRun {
            for definition in definitions where selected.contains(definition.name) && reprocess.allSatisfy({ $0.pipeline != definition.name }) {
                guard let run = timePostingRun(of: definition) else { continue }
                let paths = readyFiles(of: definition).map { zone.inbox + "/" + $0.0 }
                repeatScans[definition.name] = BackgroundTask(name: "dropline-repeats") { run.repeatedEntries(in: paths) }
            }
        }
        // Joined whatever happens: the scans read the inbox, and end before the run does.
        defer { for scan in repeatScans.values { _ = try? scan.wait() } }
        for definition in definitions where selected.contains(definition.name) {
            let files = readyFiles(of: definition)
            var lastBusinessDate: BusinessDate?
            let postingRun = timePostingRun(of: definition)
            var carried = Set<String>()
            if let postingRun {
                carried = try postingRun.carriedAgain(in: files.map { zone.inbox + "/" + $0.0 }, digests: &processor.knownDigests)
                summary.holds = try postingRun.reevaluateHolds(where: { !carried.contains($0.entry.entryID) }, label: "HELD")
            }
            processor.repeatedEntries = (try? repeatScans[definition.name]?.wait()) ?? nil
            defer { processor.repeatedEntries = nil }
            for item in reprocess where item.pipeline == definition.name {
                // A copy: archived originals are never modified.
                try DropZone.makePrivateFolder(workDir)
                let copy = workDir + "/" + item.name
                try? FileManager.default.removeItem(atPath: copy)
                // Marked first: recovery discards a copy whose reprocessing never committed.
                try AtomicFile.write(Data(item.location.utf8), to: copy + WorkRecovery.reprocessMarker, permissions: 0o600)
                try FileManager.default.copyItem(atPath: zone.root + "/" + item.location, toPath: copy)
                logger.info("Reprocessing an archived file", metadata: ["stage": "reprocess", "file": "\(item.name)", "original": "\(item.location)"])
                try completeLast()
                let outcome = try processor.process(name: item.name, path: copy, definition: definition, reprocessOf: item.location)
                summary.files.append(outcome.result)
            }
            for (name, marker) in files {
                var path = zone.inbox + "/" + name
                if !request.dryRun {
                    try DropZone.makePrivateFolder(workDir)
                    let claimed = workDir + "/" + name
                    guard rename(path, claimed) == 0 else {
                        logger.warning("File could not be claimed", metadata: ["file": "\(name)", "errno": "\(errno)"])
                        continue
                    }
                    if marker { _ = rename(path + ".done", claimed + ".done") }
                    path = claimed
                }
                try completeLast()
                let outcome = try processor.process(name: name, path: path, definition: definition, completeLater: true)
                completion = outcome.completion
                summary.files.append(outcome.result)
                if outcome.result.outcome == "loaded" {
                    if let bd = outcome.businessDate { lastBusinessDate = max(lastBusinessDate ?? bd, bd) }
                }
            }
            if let postingRun, !carried.isEmpty {
                try completeLast()
                // Held entries whose export was not loaded after all are decided now; those an
                // export of this run held again (their hold row is this run's) were just decided.
                let runID = context.runID
                for (k, v) in try postingRun.reevaluateHolds(where: { carried.contains($0.entry.entryID) && $0.heldSinceRun != runID }, label: "HELDLATE") { summary.holds?[k, default: 0] += v }
            }
            if !request.dryRun {
                try outbound.reserveSnapshots(of: definition, createdAt: createdAt)
                if try postingRun?.reserveLaborFile(createdAt: createdAt) == true { Failpoint.laborFileReserved.hit() }
                // The pipeline's outbound files (the labor file reads postings through a
                // connection of its own) are written while utilization is refreshed.
                let reserved = try outbound.pending(pipeline: definition.name)
                let files = BackgroundTask(name: "dropline-outbound") { try outbound.write(reserved) }
                // The last file's reject XML is cut (from the whole export) while they are,
                // and the run's reject files are hashed for the manifest.
                let manifests = ManifestWriter(zone: zone, context: context, ledger: ledger)
                let completing = completion.map { c in
                    BackgroundTask(name: "dropline-complete") {
                        try c()
                        return manifests.hashRejectsAhead(of: definition)
                    }
                }
                completion = nil
                let utilization = Result { try postingRun?.refreshUtilization() ?? [] }
                let completed = Result { try completing?.wait() }
                summary.outputs += try files.wait()
                let hashedAhead = try completed.get() ?? [:]
                summary.outputs += try utilization.get()
                if let path = try manifests.write(definition, outputs: summary.outputs.filter { $0.pipeline == definition.name }, holds: postingRun == nil ? nil : summary.holds, version: DroplineInfo.version, hashedAhead: hashedAhead) {
                    summary.manifests.append(path)
                }
            }
        }
        try completeLast()
        // A finished run's folder holds only scratch; an input still in it (never, unless a move
        // went wrong unnoticed) is left for the next run's recovery, never deleted.
        if !request.dryRun, ((try? FileManager.default.contentsOfDirectory(atPath: workDir)) ?? []).allSatisfy({ !WorkRecovery.isInput($0) }) {
            try? FileManager.default.removeItem(atPath: workDir)
        }

        if !request.dryRun && settings.rejectedDays > 0 {
            // Retention of reject folders (personal data), counted from the run date.
            let purged = try RejectReview(root: zone.root).purge(olderThanDays: settings.rejectedDays, today: runDate, apply: true, at: clock())
            if !purged.isEmpty { logger.info("Reject folders past retention removed", metadata: ["stage": "retention", "folders": "\(purged.count)", "rejected_days": "\(settings.rejectedDays)"]) }
        }

        // Held entries rejected on re-evaluation (expired) are rejected records too: a reviewer
        // has a reject file to fix, whether or not a file came in.
        let troubled = summary.files.contains { $0.outcome == "quarantined" } || summary.files.contains { ($0.records["rejected"] ?? 0) > 0 }
            || (summary.holds?["rejected"] ?? 0) > 0
        summary.exit_code = troubled ? settings.exitCodeOnRejects : 0
        if !request.dryRun {
            try ledger.finishRun(id: runID, exitCode: summary.exit_code, at: clock())
            var metrics = MetricsTextfile(zone: zone, settings: settings, ledger: ledger, warehouse: warehouse, runDate: runDate)
            do {
                try metrics.collect(lastRunSeconds: Date().timeIntervalSince(wallStart), lastExitCode: summary.exit_code, now: Date())
                try metrics.write()
            } catch {
                logger.error("Metrics file not written", metadata: ["stage": "metrics", "error": "\(type(of: error))"])
            }
        }
        logger.info("Run finished", metadata: ["files": "\(summary.files.count)", "outputs": "\(summary.outputs.count)", "exit_code": "\(summary.exit_code)"])
        return summary
    }

    /// `2026-11-28T02:14:07+01:00`: the instant in the zone's time zone, with its offset.
    static func timestamp(_ date: Date, timeZone: String) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: timeZone) ?? .gmt
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ssxxx"
        return f.string(from: date)
    }

    struct ReprocessItem {
        var pipeline: String
        var name: String
        /// Zone-relative archive path.
        var location: String
    }

    /// Archived files to process again: paths under archive/, or every archived file of a run.
    func resolveReprocess(_ targets: [String], zone: DropZone, ledger: Ledger, definitions: [PipelineDefinition]) throws -> [ReprocessItem] {
        var items: [ReprocessItem] = []
        for target in targets {
            let absolute = URL(fileURLWithPath: target.hasPrefix("/") ? target : zone.root + "/" + target).standardizedFileURL.path
            if absolute.hasPrefix(zone.archive + "/"), FileManager.default.fileExists(atPath: absolute) {
                let location = String(absolute.dropFirst(zone.root.count + 1))
                let name = (absolute as NSString).lastPathComponent
                guard let pipeline = absolute.dropFirst(zone.archive.count + 1).split(separator: "/").first.map(String.init), definitions.contains(where: { $0.name == pipeline }) else {
                    throw RunError.unknownPipeline("\(target): no pipeline archives files there")
                }
                let original = try ledger.file(location: location)
                items.append(ReprocessItem(pipeline: pipeline, name: original?.name ?? name, location: location))
                continue
            }
            let ofRun = try ledger.files(runID: target).filter { $0.location?.hasPrefix("archive/") == true }
            guard !ofRun.isEmpty else {
                throw RunError.noZone("\(target) is neither an archived file under \(zone.archive) nor a run id with archived files")
            }
            items += ofRun.map { ReprocessItem(pipeline: $0.pipeline, name: $0.name, location: $0.location!) }
        }
        return items
    }

    /// `yyyyMMddTHHmmssZ-xxxx`: the second the run started and four hex digits, drawn at random
    /// and then counted on while the ledger knows the id (runs in the same second, a clock set
    /// back): never an earlier run's id, whose rows, folders and manifests it would meet.
    static func newRunID(_ date: Date, ledger: Ledger) throws -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = .gmt
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let second = f.string(from: date) + "-"
        let start = Int(UInt16.random(in: 0...UInt16.max))
        for step in 0...Int(UInt16.max) {
            let id = second + String(format: "%04x", (start + step) & 0xffff)
            if try !ledger.knowsRun(id) { return id }
        }
        throw RunError.io("every run id of \(second.dropLast()) is taken in the ledger; wait a second and run again")
    }
}
