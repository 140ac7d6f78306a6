import ArgumentParser
import DroplineCore
import DroplineRuntime
import Foundation

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Files processed, newest first, from the ledger.")

    @OptionGroup var zone: ZoneOptions
    @Option(help: "Only this pipeline.") var pipeline: String?
    @Option(help: "At most this many files.") var limit = 20
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        let z = DropZone(root: zone.resolvedRoot)
        guard FileManager.default.fileExists(atPath: z.ledger) else {
            print("no runs yet in \(z.root)")
            return
        }
        do {
            let files = try Ledger(path: z.ledger).files(pipeline: pipeline, limit: limit)
            try zone.refuseUnknown(pipeline: pipeline, matchedNothing: files.isEmpty)
            if json { return printJSON(files) }
            if files.isEmpty { return print("no files processed" + (pipeline.map { " by pipeline '\($0)'" } ?? "")) }
            for f in files {
                var line = "\(f.runID)  \(f.pipeline.padding(toLength: 12, withPad: " ", startingAt: 0)) \(f.outcome.padding(toLength: 11, withPad: " ", startingAt: 0)) \(f.name)"
                if let r = f.reason { line += "  [\(r)]" }
                // Counts as the run printed them, for a file that was loaded.
                if f.outcome == "loaded" { line += "  " + SummaryText.counts(["loaded": f.loaded, "rejected": f.rejected, "held": f.held, "skipped": f.skipped], reasons: f.reasons) }
                if let p = f.reprocessOf { line += "  (reprocess of \(p))" }
                if let p = f.resubmissionOf { line += "  (resubmission of \(p))" }
                print(line)
            }
        } catch { throw ExitStatus.report(error) }
    }
}

struct ReprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reprocess",
        abstract: "Process archived input again, deliberately: a new run that bypasses the duplicate-file check and records lineage.",
        discussion: """
            TARGET is an archived file (a path under archive/) or a run id (all files that run archived).
            A byte-identical file is normally skipped as duplicate_file; reprocess takes it anyway,
            and the ledger records which archived original it came from. Loading is idempotent:
            master data upserts to the same state, time entries already posted are skipped as
            already_posted, so reprocessing never posts twice.
            """)

    @Argument(help: "Archived files or run ids.") var targets: [String]
    @OptionGroup var zone: ZoneOptions
    @Option(name: .customLong("as-of"), help: "Run date YYYY-MM-DD (default: today).") var asOf: String?
    @Flag(help: "Print the run summary as JSON.") var json = false

    func run() throws {
        var request = RunRequest(root: zone.resolvedRoot)
        request.reprocess = targets
        request.asOf = asOf.flatMap { BusinessDate(iso: $0) }
        request.takeInbox = false  // only the named files: nothing new is taken from the inbox
        let summary: RunSummary
        do { summary = try PipelineRunner(request: request).run() } catch { throw ExitStatus.report(error) }
        print(json ? SummaryText.json(summary) : SummaryText.human(summary))
        if summary.exit_code != 0 { throw ExitCode(summary.exit_code) }
    }
}
