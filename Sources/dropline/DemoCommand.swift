import ArgumentParser
import DroplineProfessionalServices
import DroplineRuntime
import DroplineCore
import Foundation

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "A throwaway zone seeded from samples/, one full nightly run per sample night, a summary.")

    @Argument(help: "Folder for the demo zone (default: a new temporary folder).")
    var directory: String?

    func run() throws {
        guard let home = ShippedAssets.home() else {
            throw ExitStatus.report(RunError.noZone("cannot find the shipped samples/ folder; set DROPLINE_HOME to the Dropline checkout"))
        }
        let root = directory ?? NSTemporaryDirectory() + "dropline-demo-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        do {
            let zone = try ZoneInitializer.create(root: root, pipelinesSource: home + "/pipelines")
            let nights = try FileManager.default.contentsOfDirectory(atPath: home + "/samples").filter { $0.hasPrefix("night-") }.sorted()
            print("Dropline demo zone: \(zone.root)\n")
            var worst: Int32 = 0
            for night in nights {
                let source = home + "/samples/" + night
                let runDate = (try? String(contentsOfFile: source + "/RUN_DATE", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                for name in try FileManager.default.contentsOfDirectory(atPath: source).sorted() where name.hasSuffix(".xml") || name.hasSuffix(".done") {
                    try FileManager.default.copyItem(atPath: source + "/" + name, toPath: zone.inbox + "/" + name)
                }
                var request = RunRequest(root: zone.root)
                request.settleSeconds = 0
                request.asOf = runDate.flatMap { BusinessDate(iso: $0) }
                let summary = try PipelineRunner(request: request).run()
                print("== \(night)")
                print(SummaryText.human(summary))
                print("")
                worst = max(worst, summary.exit_code)
            }
            let reports = try ZoneReports(root: zone.root)
            let weeks = Set(try FileManager.default.contentsOfDirectory(atPath: zone.outbound + "/analytics").filter { $0.hasSuffix(".csv") }.map { String($0.dropFirst("UTILIZATION_FACTS_".count).dropLast(4)) }).sorted()
            if let last = weeks.last, let week = ISOWeek(label: last) {
                print(UtilizationReport.render(try reports.utilization(week: week, region: nil, practice: nil), week: week) + "\n")
            }
            let holds = try reports.holds(reason: nil)
            print("Held entries: \(holds.count)" + (holds.isEmpty ? "" : " (dropline held --root \(zone.root))"))
            let rec = try reports.reconcile(period: nil)
            print("Reconciliation: approved \(rec.approved_hours) h, posted \(rec.posted_hours) h, \(rec.gaps.count) gap(s) (dropline reconcile --root \(zone.root))\n")
            print("""
                Where to look:
                  \(zone.root)/warehouse.sqlite     warehouse (sqlite3 \(zone.root)/warehouse.sqlite '.tables')
                  \(zone.root)/outbound/            files for the PSA, ERP and analytics
                  \(zone.root)/rejected/            rejected records per run, for review
                  \(zone.root)/quarantine/          whole files set aside, with <name>.error.json
                  \(zone.root)/archive/             processed originals
                  \(zone.root)/logs/dropline.jsonl  structured log
                The sample nights contain deliberate faults, so each run above ends with exit 1 ("finished with rejects").
                """)
        } catch { throw ExitStatus.report(error) }
    }
}
