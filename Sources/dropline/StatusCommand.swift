import ArgumentParser
import DroplineRuntime
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Zone health: files waiting, quarantined, held, last run per pipeline, failed project requests, approval backlog.")
    @OptionGroup var zone: ZoneOptions
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        let s: ZoneStatus
        do { s = try ZoneStatus.read(root: zone.resolvedRoot) } catch { throw ExitStatus.report(error) }
        if json { return printJSON(s) }
        print("Zone \(s.root)")
        print("  inbox       \(s.waiting_files.count) file(s) waiting" + (s.waiting_files.isEmpty ? "" : ": " + s.waiting_files.prefix(5).joined(separator: ", ") + (s.waiting_files.count > 5 ? ", ..." : "")))
        if let r = s.running { print("  running     a run holds the zone's lock (pid \(r.pid)) since \(r.since)") }
        if s.files_in_work > 0 {
            print("  work        \(s.files_in_work) file(s) " + (s.running == nil ? "left by an interrupted run; the next run recovers them" : "taken by the run in progress"))
        }
        print("  quarantine  \(s.quarantined_files) file(s)")
        print("  held        \(s.held_entries) time entr\(s.held_entries == 1 ? "y" : "ies")" + (s.oldest_hold_business_date.map { ", oldest since \($0)" } ?? ""))
        print("  backlog     \(s.approval_backlog.timesheets) submitted timesheet(s) awaiting approval" + (s.approval_backlog.oldest_age_days.map { ", oldest \($0) days" } ?? ""))
        if !s.failed_project_acks.isEmpty {
            print("  project requests the ERP refused: " + s.failed_project_acks.map { "\($0.psa_code) (\($0.message ?? "no message"))" }.joined(separator: ", "))
        }
        if s.unwritten_outbound_files > 0 { print("  outbound    \(s.unwritten_outbound_files) file(s) not yet written; the next run writes them") }
        print("  last run    " + (s.last_run_id.map { "\($0), exit \(s.last_run_exit_code ?? -1)" } ?? "none"))
        print(table(["pipeline", "last file", "outcome", "quarantined"], s.pipelines.map { [$0.pipeline, $0.last_processed_at ?? "-", $0.last_outcome ?? "-", String($0.quarantined_files)] }, numeric: [3]).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    }
}
