import DroplineCore
import Foundation
import GRDB
import Logging

/// Files left in `work/<run-id>/` by a run that died (kill -9, power loss). Whatever instant it
/// died at, each file ends where a clean run would have put it:
/// - loaded (its load committed in the warehouse, `_dropline_file_load`): the ledger entry and
///   the reject file are completed, and the file is archived;
/// - recorded in the ledger as quarantined or skipped: moved to the place the ledger names;
/// - otherwise nothing of it was kept: it goes back to the inbox and is processed again.
struct WorkRecovery {
    let zone: DropZone
    let context: RunContext
    let ledger: Ledger
    let warehouse: DatabaseQueue
    let processor: FileProcessor

    func run() throws -> Int {
        let fm = FileManager.default
        var recovered = 0
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
                let load = try warehouse.read { try Row.fetchOne($0, sql: "SELECT * FROM _dropline_file_load WHERE sha256 = ?", arguments: [digest.hex]) }
                if let load {
                    let pipeline: String = load["pipeline"]
                    let partial = path + ".rejects.jsonl.partial"
                    if fm.fileExists(atPath: partial) {
                        let target = zone.rejected + "/" + pipeline + "/" + (load["run_id"] as String)
                        try DropZone.makePrivateFolder(target)
                        _ = rename(partial, target + "/" + name + ".rejects.jsonl")
                    }
                    if let entry = try ledger.entry(sha256: digest.hex, runID: load["run_id"]), let location = entry.location {
                        try processor.move(path, to: location)
                    } else {
                        let location = processor.archiveDestination(name: name, pipeline: pipeline)
                        try ledger.record(.init(runID: load["run_id"], pipeline: pipeline, name: name, sha256: digest.hex, bytes: digest.bytes, exportID: load["export_id"], businessDate: load["business_date"], outcome: "loaded", reason: nil, location: location, loaded: load["loaded"], rejected: load["rejected"]), at: context.clock())
                        try processor.move(path, to: location)
                    }
                    context.logger.warning("Interrupted run's file completed", metadata: ["stage": "recover", "file": "\(name)", "from_run": "\(run)", "outcome": "loaded"])
                } else if let entry = try ledger.entry(sha256: digest.hex, runID: run), let location = entry.location {
                    try processor.move(path, to: location)
                    context.logger.warning("Interrupted run's file completed", metadata: ["stage": "recover", "file": "\(name)", "from_run": "\(run)", "outcome": "\(entry.outcome)"])
                } else {
                    let back = zone.inbox + "/" + name
                    // A newer file with the same name arrived meanwhile: keep both, never overwrite.
                    let target = fm.fileExists(atPath: back) ? back + ".recovered-" + run : back
                    guard rename(path, target) == 0 else {
                        throw RunError.io("\(name) could not be returned to the inbox: \(String(cString: strerror(errno))). It stays in \(dir); fix the inbox, then run again.")
                    }
                    if target == back, fm.fileExists(atPath: path + ".done") { _ = rename(path + ".done", back + ".done") }
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

    /// Whether a name in a run's work folder is an input file (not a partial reject file, a
    /// done marker or a temporary file).
    static func isInput(_ name: String) -> Bool {
        !name.hasSuffix(".partial") && !name.hasSuffix(".done") && !name.hasSuffix(".tmp")
    }
}
