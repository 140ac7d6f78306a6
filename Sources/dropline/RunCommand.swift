import ArgumentParser
import DroplineCore
import DroplineRuntime
import Foundation

struct ZoneOptions: ParsableArguments {
    @Option(name: .long, help: "Zone root (default: $DROPLINE_ROOT, else the current folder).")
    var root: String?

    var resolvedRoot: String {
        root ?? ProcessInfo.processInfo.environment["DROPLINE_ROOT"] ?? FileManager.default.currentDirectoryPath
    }

    /// Refuses a pipeline filter that matched nothing and names no pipeline the zone defines:
    /// a typo would read as "nothing there". A pipeline the zone no longer defines still shows
    /// what it left.
    func refuseUnknown(pipeline: String?, matchedNothing: Bool) throws {
        guard matchedNothing, let pipeline else { return }
        let zone = DropZone(root: resolvedRoot)
        let names = try PipelineRunner.definitions(zone: zone, settings: ZoneSettings.load(root: zone.root), override: nil).map(\.name)
        if !names.contains(pipeline) { throw RunError.unknownPipeline(pipeline, among: names) }
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Process the inbox: all pipelines in dependency order, or the ones named.")

    @Argument(help: "Pipelines to run (default: all).")
    var pipelines: [String] = []

    @OptionGroup var zone: ZoneOptions

    @Flag(help: "Print the run summary as one JSON object on stdout.")
    var json = false

    @Flag(name: .customLong("dry-run"), help: "Read and check everything as a run would, in one warehouse transaction that is rolled back; move no file, write no ledger or outbound file.")
    var dryRun = false

    @Option(name: .customLong("as-of"), help: "Run date YYYY-MM-DD (default: today in the zone's time zone).")
    var asOf: String?

    @Option(name: .customLong("settle-seconds"), help: "Override every pipeline's settle time.")
    var settleSeconds: Int?

    @Option(name: [.customLong("pipelines"), .customLong("pipelines-directory")], help: "Pipelines folder (default: from dropline.yaml).")
    var pipelinesDirectory: String?

    func validate() throws {
        if let asOf, BusinessDate(iso: asOf) == nil { throw ValidationError("--as-of needs a date YYYY-MM-DD, got '\(asOf)'") }
        if let s = settleSeconds, s < 0 { throw ValidationError("--settle-seconds must be 0 or more") }
    }

    func run() throws {
        var request = RunRequest(root: zone.resolvedRoot)
        request.pipelines = pipelines
        request.dryRun = dryRun
        request.asOf = asOf.flatMap { BusinessDate(iso: $0) }
        request.settleSeconds = settleSeconds
        request.pipelinesDirectory = pipelinesDirectory
        request.echoLogs = isatty(STDERR_FILENO) == 1 && !json
        let summary: RunSummary
        do { summary = try PipelineRunner(request: request).run() } catch { throw ExitStatus.report(error) }
        if json {
            print(SummaryText.json(summary))
        } else {
            print(SummaryText.human(summary))
        }
        if summary.exit_code != 0 { throw ExitCode(summary.exit_code) }
    }
}

enum SummaryText {
    static func json(_ s: RunSummary) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(s)) ?? Data(), as: UTF8.self)
    }

    /// `loaded 25, rejected 3, held 2, skipped 2 (day_over_24 1, ...)`: held, skipped and
    /// superseded only when there are any; primary reasons by name.
    static func counts(_ records: [String: Int], superseded: Int? = nil, reasons: [String: Int]) -> String {
        var text = "loaded \(records["loaded"] ?? 0), rejected \(records["rejected"] ?? 0)"
        for k in ["held", "skipped"] where (records[k] ?? 0) > 0 { text += ", \(k) \(records[k]!)" }
        if let s = superseded { text += ", superseded \(s)" }
        if !reasons.isEmpty { text += " (" + reasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")" }
        return text
    }

    static func human(_ s: RunSummary) -> String {
        var lines = ["Run \(s.run_id) (run date \(s.run_date))\(s.dry_run ? " — dry run, nothing written" : "")"]
        if s.files.isEmpty { lines.append("  inbox: nothing ready") }
        for f in s.files {
            var line = "  \(f.outcome.padding(toLength: 11, withPad: " ", startingAt: 0)) \(f.pipeline.padding(toLength: 12, withPad: " ", startingAt: 0)) \(f.name)"
            if let r = f.reason { line += "  [\(r)]" }
            if !f.records.isEmpty { line += "  " + counts(f.records, superseded: f.superseded, reasons: f.reasons) }
            if let m = f.message, f.outcome == "quarantined" { line += "\n              \(m)" }
            lines.append(line)
        }
        if let holds = s.holds, !holds.isEmpty {
            lines.append("  holds       earlier held entries: " + holds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        for o in s.outputs { lines.append("  wrote       \(o.path) (\(o.records) rows)") }
        if !s.waiting.isEmpty { lines.append("  waiting     \(s.waiting.count) file(s) not yet settled: \(s.waiting.joined(separator: ", "))") }
        lines.append("exit \(s.exit_code)")
        return lines.joined(separator: "\n")
    }
}
