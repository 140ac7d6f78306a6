import ArgumentParser
import DroplineCore
import DroplineRuntime
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Recompute every hash the run manifests record and walk their chains. Exit 0 clean, 65 on any mismatch.")
    @OptionGroup var zone: ZoneOptions
    @Option(help: "Only this pipeline.") var pipeline: String?
    @Option(help: "Only manifests of runs on or after this date (YYYY-MM-DD); chains are always walked whole.") var since: String?
    @Flag(help: "JSON output.") var json = false

    func validate() throws {
        if let since, BusinessDate(iso: since) == nil { throw ValidationError("--since needs a date YYYY-MM-DD") }
    }

    func run() throws {
        let report: ManifestVerifier.Report
        do { report = try ManifestVerifier(root: zone.resolvedRoot).verify(pipeline: pipeline, since: since.flatMap { BusinessDate(iso: $0) }) } catch { throw ExitStatus.report(error) }
        if json {
            printJSON(report)
        } else {
            for p in report.problems { print("MISMATCH \(p)") }
            print("\(report.manifests) manifest(s), \(report.files_checked) file(s) checked, \(report.problems.count) problem(s)" + (report.purged_reject_files > 0 ? "; \(report.purged_reject_files) reject file(s) purged on purpose, not checked" : ""))
        }
        if !report.problems.isEmpty { throw ExitCode(ExitStatus.data) }
    }
}
