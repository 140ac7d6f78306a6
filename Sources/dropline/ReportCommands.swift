import ArgumentParser
import DroplineCore
import DroplineProfessionalServices
import DroplineRuntime
import Foundation

enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    print(String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self))
}

/// Left-aligned text columns, right-aligned numbers.
func table(_ header: [String], _ rows: [[String]], numeric: Set<Int> = []) -> String {
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            let pad = String(repeating: " ", count: widths[i] - c.count)
            return numeric.contains(i) ? pad + c : c + pad
        }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
    return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
}

struct HeldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "held", abstract: "Time entries on hold, oldest first, with the day they expire.")
    @OptionGroup var zone: ZoneOptions
    @Option(help: "Only this hold reason (unknown_worker, period_closing, no_erp_project_number).") var reason: String?
    @Flag(help: "JSON output.") var json = false

    func validate() throws {
        if let reason, !TimeEntryRules.holdReasons.contains(where: { $0.rawValue == reason }) {
            throw ValidationError("--reason must be a hold reason (\(TimeEntryRules.holdReasons.map(\.rawValue).sorted().joined(separator: ", "))), got '\(reason)'")
        }
    }

    func run() throws {
        let holds: [ZoneReports.Hold]
        do { holds = try ZoneReports(root: zone.resolvedRoot).holds(reason: reason) } catch { throw ExitStatus.report(error) }
        if json { return printJSON(holds) }
        if holds.isEmpty { return print("no held entries") }
        print(table(["entry", "reason", "since", "expires", "worker", "date", "project", "hours", "category"],
                    holds.map { [$0.entry_id, $0.reason, $0.business_date, $0.expires_on, $0.pernr, $0.date, $0.project, $0.hours, $0.category] }, numeric: [7]))
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Reports from the warehouse.", subcommands: [UtilizationReport.self])
}

struct UtilizationReport: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "utilization", abstract: "Weekly utilization by region, practice and role, with totals.")
    @OptionGroup var zone: ZoneOptions
    @Option(help: "ISO week, e.g. 2026-W48.") var week: String
    @Option(help: "Only this region.") var region: String?
    @Option(help: "Only this practice.") var practice: String?
    @Option(help: "table, csv or json.") var format: OutputFormat = .table

    func validate() throws {
        if ISOWeek(label: week) == nil { throw ValidationError("--week needs an ISO week like 2026-W48, got '\(week)'") }
    }

    func run() throws {
        let rows: [UtilizationRow]
        do { rows = try ZoneReports(root: zone.resolvedRoot).utilization(week: ISOWeek(label: week)!, region: region, practice: practice) } catch { throw ExitStatus.report(error) }
        switch format {
        case .csv:
            print(UtilizationRow.columns.joined(separator: ","))
            for r in rows { print(r.fields.map { $0 ?? "" }.joined(separator: ",")) }
        case .json:
            printJSON(rows.map { r in Dictionary(uniqueKeysWithValues: zip(UtilizationRow.columns, r.fields.map { $0 ?? "" })) })
        case .table:
            print(Self.render(rows, week: ISOWeek(label: week)!, filters: [region.map { "region \($0)" }, practice.map { "practice \($0)" }].compactMap { $0 }.joined(separator: ", ")))
        }
    }

    /// `filters`: what narrowed the rows, named when none is left.
    static func render(_ rows: [UtilizationRow], week: ISOWeek, filters: String = "") -> String {
            if rows.isEmpty { return "no utilization facts for \(week.label)" + (filters.isEmpty ? "" : " (\(filters))") }
            var body = rows.map { r in [r.region, r.practice, r.jobCode, r.billableRole, String(r.workers), r.hours[0], r.hours[2], r.hours[3], r.hours[4], r.hours[9], r.ratios[0] ?? "-", r.ratios[1] ?? "-"] }
            var sums = [Decimal](repeating: 0, count: 10)
            for r in rows { for i in 0..<10 { sums[i] += DecimalText.parse(r.hours[i]) ?? 0 } }
            let available = sums[2]
            func ratio(_ n: Decimal) -> String { available > 0 ? DecimalText.format(n / available, scale: 4) : "-" }
            body.append(["total", "", "", "", String(rows.map(\.workers).reduce(0, +)), DecimalText.format(sums[0], scale: 2), DecimalText.format(sums[2], scale: 2), DecimalText.format(sums[3], scale: 2), DecimalText.format(sums[4], scale: 2), DecimalText.format(sums[9], scale: 2), ratio(sums[3]), ratio(sums[3] + sums[4])])
            return "Utilization \(week.label) (week of \(week.monday.iso))\n" + table(["region", "practice", "role", "billable", "workers", "capacity", "available", "billable_h", "productive_h", "actual", "billable_util", "productive_util"], body, numeric: Set(4...11))
    }
}

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reconcile", abstract: "Approved PSA hours against hours posted to the ERP; every gap with its cause. Exit 1 when gaps exist.")
    @OptionGroup var zone: ZoneOptions
    @Option(help: "Only this period, e.g. 2026-11.") var period: String?
    @Flag(help: "JSON output.") var json = false

    func validate() throws {
        // A mistyped period matches no entry and would read as "no gaps".
        if let period, BusinessDate(iso: period + "-01") == nil {
            throw ValidationError("--period needs a month like 2026-11, got '\(period)'")
        }
    }

    func run() throws {
        let r: ZoneReports.Reconciliation
        do { r = try ZoneReports(root: zone.resolvedRoot).reconcile(period: period) } catch { throw ExitStatus.report(error) }
        if json {
            printJSON(r)
        } else {
            print("Approved \(r.approved_hours) h, posted to the ERP \(r.posted_hours) h\(period.map { " in \($0)" } ?? "")")
            if r.gaps.isEmpty { print("no gaps") } else {
                print(table(["period", "worker", "entry", "approved", "posted", "cause", "reason"], r.gaps.map { [$0.period, $0.pernr, $0.entry_id, $0.approved_hours, $0.posted_hours, $0.cause, $0.reason ?? ""] }, numeric: [3, 4]))
            }
        }
        if !r.gaps.isEmpty { throw ExitCode(1) }
    }
}
