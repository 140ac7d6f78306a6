import DroplineCore
import Foundation
import GRDB
import Logging

/// What a run that died (kill -9, power loss) left unfinished. Whatever instant it died at, each
/// file ends where a clean run would have put it:
/// - reject files of held entries whose re-evaluation committed (`pending_reject_file`): put in
///   place, recorded, their folder's README written;
/// - manifests recorded in the ledger but still `.pending`: put in place (unrecorded ones go);
/// - a file in `work/<run-id>/` that run loaded under that name (`_dropline_file_load`): its
///   reject files and ledger entry are completed, and it is archived;
/// - recorded in the ledger as quarantined or skipped: moved to the place the ledger names;
/// - a reprocessing copy whose load never committed: discarded (the original stays archived);
/// - otherwise nothing of it was kept: it goes back to the inbox and is processed again.
struct WorkRecovery {
    let zone: DropZone
    let context: RunContext
    let ledger: Ledger
    let warehouse: DatabaseQueue
    let processor: FileProcessor
    let definitions: [PipelineDefinition]

    func run() throws -> Int {
        let fm = FileManager.default
        var recovered = 0
        // Reject files of held entries whose re-evaluation committed (in any earlier run).
        for row in try warehouse.read({ try Row.fetchAll($0, sql: "SELECT * FROM pending_reject_file ORDER BY run_id, name") }) {
            let runID: String = row["run_id"], name: String = row["name"], pipeline: String = row["pipeline"]
            let xml = [TimePostingRun.heldRejectsPartial(zone: zone, runID: runID, name: name), zone.rejectFolder(pipeline: pipeline, runID: runID) + "/" + name]
            guard xml.contains(where: fm.fileExists(atPath:)) else {
                context.logger.error("Reject file of held entries missing; their evaluations stay in the warehouse (dropline reconcile)", metadata: ["stage": "recover", "file": "\(name)", "from_run": "\(runID)"])
                try warehouse.write { try $0.execute(sql: "DELETE FROM pending_reject_file WHERE run_id = ? AND name = ?", arguments: [runID, name]) }
                continue
            }
            try TimePostingRun.placeHeldRejects(zone: zone, ledger: ledger, warehouse: warehouse, pipeline: pipeline, runID: runID, runDate: BusinessDate(iso: row["run_date"]) ?? context.runDate, name: name, exportID: row["export_id"], records: row["records"], readmes: context.readmes, at: context.clock())
            recovered += 1
            context.logger.warning("Interrupted run's reject files of held entries completed", metadata: ["stage": "recover", "file": "\(name)", "from_run": "\(runID)"])
        }
        try ManifestWriter.completePending(zone: zone, ledger: ledger)
        for run in ((try? fm.contentsOfDirectory(atPath: zone.work)) ?? []).sorted() where run != context.runID {
            let dir = zone.work + "/" + run
            let names = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            for name in names where Self.isInput(name) {
                let path = dir + "/" + name
                recovered += 1
                guard let digest = try? FileDigest.sha256(path: path) else {
                    context.logger.error("Interrupted run's file could not be read; it stays in work/", metadata: ["stage": "recover", "file": "\(name)", "from_run": "\(run)"])
                    continue
                }
                // Loaded by that run under that name: not by an earlier run (a duplicate has the
                // bytes of a file loaded before) nor by a file of the same bytes beside it.
                let load = try warehouse.read { try Row.fetchOne($0, sql: "SELECT * FROM _dropline_file_load WHERE sha256 = ? AND run_id = ? AND name = ?", arguments: [digest.hex, run, name]) }
                let reprocessOf = try? String(contentsOfFile: path + Self.reprocessMarker, encoding: .utf8)
                let entry = try ledger.entry(sha256: digest.hex, runID: run, name: name)
                if let load {
                    let pipeline: String = load["pipeline"]
                    try completeRejects(of: path, name: name, pipeline: pipeline, loadRun: run, records: load["rejected"])
                    if let location = entry?.location {
                        try processor.move(path, to: location)
                    } else {
                        try processor.recordLoaded(path: path, runID: run, pipeline: pipeline, name: name, digest: digest, exportID: load["export_id"], businessDate: load["business_date"],
                                                   counts: (load["loaded"], load["rejected"], load["held"], load["skipped"]), reasons: Ledger.decode(load["reasons"]), reprocessOf: reprocessOf)
                    }
                    context.logger.warning("Interrupted run's file completed", metadata: ["stage": "recover", "file": "\(name)", "from_run": "\(run)", "outcome": "loaded"])
                } else if let entry, let location = entry.location {
                    try processor.move(path, to: location)
                    context.logger.warning("Interrupted run's file completed", metadata: ["stage": "recover", "file": "\(name)", "from_run": "\(run)", "outcome": "\(entry.outcome)"])
                } else if reprocessOf != nil {
                    // A copy of an archived file whose reprocessing never committed: the original
                    // stays archived; reprocessing is asked for again.
                    unlink(path)
                    context.logger.warning("Interrupted reprocessing discarded; the archived original is unchanged: run dropline reprocess again", metadata: ["stage": "recover", "file": "\(name)", "from_run": "\(run)"])
                } else {
                    let back = zone.inbox + "/" + name
                    // A newer file with the same name arrived meanwhile: keep both, never overwrite,
                    // under a name its pipeline still claims, settled as it was when claimed.
                    let target = fm.fileExists(atPath: back) ? zone.inbox + "/" + Self.recoveredName(name, run: run) : back
                    guard rename(path, target) == 0 else {
                        throw RunError.io("\(name) could not be returned to the inbox: \(ErrorText.system(errno)). It stays in \(dir); fix the inbox, then run again.")
                    }
                    if fm.fileExists(atPath: path + ".done") { _ = rename(path + ".done", target + ".done") }
                    context.logger.warning("Interrupted run's file returned to the inbox", metadata: ["stage": "recover", "file": "\(name)", "from_run": "\(run)"])
                }
            }
            // Partial reject files of loads that never committed, stray markers and temp files; an
            // input that could not be read stays, and the folder with it, for the next run.
            for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where !Self.isInput(name) { unlink(dir + "/" + name) }
            rmdir(dir)
        }
        return recovered
    }

    /// The reject files of a loaded input that its run had not put in place: the JSON lines
    /// (sealed before the commit), the XML cut again from the plan saved before the commit
    /// (unless the ledger already has it), and the folder's README.
    func completeRejects(of path: String, name: String, pipeline: String, loadRun: String, records: Int) throws {
        let fm = FileManager.default
        let dir = zone.rejectFolder(pipeline: pipeline, runID: loadRun)
        let lines = path + ".rejects.jsonl.partial"
        let cut = FileProcessor.rejectCutPaths(source: path)
        guard fm.fileExists(atPath: lines) || fm.fileExists(atPath: cut.plan) else { return }
        if fm.fileExists(atPath: lines) {
            do { try zone.placeReject(lines, pipeline: pipeline, runID: loadRun, as: name + ".rejects.jsonl") } catch {
                throw RunError.io("the rejected records of \(name) could not be put in \(dir): \(ErrorText.describe(error)). They stay in work/; fix the folder, then run again.")
            }
        }
        if fm.fileExists(atPath: cut.plan), try !ledger.hasRejectFile(path: "rejected/\(pipeline)/\(loadRun)/\(name)") {
            if let d = definitions.first(where: { $0.name == pipeline }), let plan = try RejectDocument.loadPlan(from: cut.plan) {
                if try plan.document.write(source: path, target: cut.partial, definition: d, newExportID: RejectExportID.derive(base: plan.original, sequence: plan.seq)) {
                    try processor.placeRejectCut(partial: cut.partial, pipeline: pipeline, runID: loadRun, name: name, original: plan.original, seq: plan.seq, records: records)
                }
            } else {
                context.logger.error("Reject XML of an interrupted run could not be cut again; its JSON lines are in place", metadata: ["stage": "recover", "file": "\(name)", "from_run": "\(loadRun)"])
            }
        }
        // As after a load: the README (which reads the folder's reject files), then the plan goes.
        try DropZone.makePrivateFolder(dir)
        try context.readmes.write(folder: dir, pipeline: pipeline, runID: loadRun, runDate: try ledger.runDate(of: loadRun) ?? context.runDate, zoneRoot: zone.root)
        unlink(cut.plan)
    }

    /// `NAME.recovered-<run>.xml` for `NAME.xml` (the extension kept, so that the pipeline's
    /// pattern still matches and the original sorts before it), else the suffix at the end.
    static func recoveredName(_ name: String, run: String) -> String {
        let ext = (name as NSString).pathExtension
        guard !ext.isEmpty else { return name + ".recovered-" + run }
        return (name as NSString).deletingPathExtension + ".recovered-" + run + "." + ext
    }

    /// Beside a copy of an archived file taken to be reprocessed: the original's location.
    static let reprocessMarker = ".reprocess"

    /// Whether a name in a run's work folder is an input file (not a partial reject file, a
    /// done marker, a reprocess marker or a temporary file).
    static func isInput(_ name: String) -> Bool {
        !name.hasSuffix(".partial") && !name.hasSuffix(".done") && !name.hasSuffix(".tmp") && !name.hasSuffix(reprocessMarker)
    }
}
