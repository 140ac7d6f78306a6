import ArgumentParser
import DroplineCore
import DroplineRuntime
import Foundation

struct RejectsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rejects", abstract: "Review, resubmit and purge rejected records.",
        subcommands: [List.self, Show.self, Resubmit.self, Purge.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject files per run, oldest first.")
        @OptionGroup var zone: ZoneOptions
        @Option(help: "Only this pipeline.") var pipeline: String?
        @Option(help: "Only runs on or after this date (YYYY-MM-DD).") var since: String?
        @Flag(help: "JSON output.") var json = false

        func validate() throws {
            if let since, BusinessDate(iso: since) == nil { throw ValidationError("--since needs a date YYYY-MM-DD") }
        }

        func run() throws {
            let entries: [RejectReview.Entry]
            do {
                entries = try RejectReview(root: zone.resolvedRoot).list(pipeline: pipeline, since: since.flatMap { BusinessDate(iso: $0) })
                try zone.refuseUnknown(pipeline: pipeline, matchedNothing: entries.isEmpty)
            } catch { throw ExitStatus.report(error) }
            if json { return printJSON(entries) }
            if entries.isEmpty { return print("no rejected records") }
            print(table(["pipeline", "run", "file", "records", "reject file"], entries.map { [$0.pipeline, $0.run_id, $0.file, String($0.records), $0.xml ?? $0.jsonl] }, numeric: [3]))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The rejected records of a run or a file, with every failed check.")
        @OptionGroup var zone: ZoneOptions
        @Argument(help: "A run id, or a reject file (or the original file name).") var target: String
        @Flag(help: "JSON output.") var json = false

        func run() throws {
            let shown: [(RejectReview.Entry, [RejectReview.Line])]
            do { shown = try RejectReview(root: zone.resolvedRoot).show(target) } catch { throw ExitStatus.report(error) }
            if json { return printJSON(shown.map { ["file": $0.0.jsonl, "records": String($0.1.count)] }) }
            for (entry, lines) in shown {
                print("\(entry.file) (\(entry.pipeline), run \(entry.run_id)): \(lines.count) rejected" + (entry.xml.map { "; fix and resubmit \($0)" } ?? ""))
                print(table(["key", "line", "reason", "field", "expected", "actual"], lines.flatMap { l in
                    l.checks.enumerated().map { i, c in
                        [i == 0 ? (l.key ?? l.record_type) : "", i == 0 ? String(l.line) : "", c.code.rawValue, c.field ?? "", String((c.expected ?? "").prefix(60)), String((c.actual ?? "").prefix(60))]
                    }
                }, numeric: [1]))
                print("")
            }
        }
    }

    struct Resubmit: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a corrected reject file back into the inbox under a new sequence number, with lineage.")
        @OptionGroup var zone: ZoneOptions
        @Argument(help: "The corrected reject XML (rejected/<pipeline>/<run>/<file>).") var file: String

        func run() throws {
            do {
                // Not while a run takes files and numbers from the inbox and the ledger.
                let lock = try RunLock(zone: DropZone(root: zone.resolvedRoot))
                let r = try withExtendedLifetime(lock) { try RejectReview(root: zone.resolvedRoot).resubmit(file) }
                print("resubmitted \(r.from) as inbox/\(r.inbox_name); the next run takes it")
            } catch { throw ExitStatus.report(error) }
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove reject folders older than a number of days. Lists only, unless --apply.")
        @OptionGroup var zone: ZoneOptions
        @Option(name: .customLong("older-than"), help: "Age, e.g. 90d.") var olderThan: String
        @Flag(help: "Really delete (default: list what would go).") var apply = false

        func run() throws {
            guard olderThan.hasSuffix("d"), let days = Int(olderThan.dropLast()), days >= 0 else {
                throw ValidationError("--older-than needs days like 90d")
            }
            do {
                // Today in the zone's time zone, as run dates are.
                let today = try ZoneSettings.load(root: zone.resolvedRoot).date(at: Date())
                // Not while a run goes: its manifest lists and hashes reject folders.
                let lock = apply ? try RunLock(zone: DropZone(root: zone.resolvedRoot)) : nil
                let gone = try withExtendedLifetime(lock) { try RejectReview(root: zone.resolvedRoot).purge(olderThanDays: days, today: today, apply: apply) }
                for g in gone { print((apply ? "removed " : "would remove ") + g) }
                print(gone.isEmpty ? "nothing older than \(days) days" : (apply ? "\(gone.count) folder(s) removed" : "\(gone.count) folder(s); run again with --apply to remove them"))
            } catch { throw ExitStatus.report(error) }
        }
    }
}
