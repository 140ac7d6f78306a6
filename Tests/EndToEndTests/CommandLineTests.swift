import DroplineTesting
import Foundation
import Testing

/// The real `dropline` binary on temporary zones.
struct CommandLineTests {
    func tempDir() -> String { NSTemporaryDirectory() + "dropline-cli-" + UUID().uuidString }

    @Test func typoInPipelineKeyExits78WithPosition() throws {
        let root = tempDir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try runDropline(["init", root]).exitCode == 0)
        let path = root + "/pipelines/rates.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "settle_seconds: 60", with: "settle_secnds: 60")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/inbox/ERP_RATES_ERP01_20261127_001.xml"))
        let line = text.split(separator: "\n", omittingEmptySubsequences: false)[5]
        let column = line.distance(from: line.startIndex, to: line.range(of: "settle_secnds")!.lowerBound) + 1
        let result = try runDropline(["run", "--root", root])
        #expect(result.exitCode == 78)
        // init on the zone again keeps the edited definition and says so.
        let again = try runDropline(["init", root])
        #expect(again.exitCode == 0)
        #expect(again.stdout.hasPrefix("Zone \(URL(fileURLWithPath: root).standardizedFileURL.path) already exists: kept its dropline.yaml and pipelines/"), "\(again.stdout)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        #expect(result.stderr.contains("\(path):6:\(column): error: unknown key 'settle_secnds' in 'inbox'; did you mean 'settle_seconds'? [unknown_key]"))
        // A malformed definition never starts a run: the inbox is untouched.
        #expect(FileManager.default.fileExists(atPath: root + "/inbox/ERP_RATES_ERP01_20261127_001.xml"))
        let lint = try runDropline(["lint", "--root", root])
        #expect(lint.exitCode == 78)
        #expect(lint.stderr.contains(":6:\(column): error: unknown key 'settle_secnds'"))
    }

    /// `--pipelines DIR` (DESIGN's name; `--pipelines-directory` still works) reads the
    /// definitions from DIR instead of the zone's folder.
    @Test func pipelinesFolderFromTheCommandLine() throws {
        let root = tempDir(), elsewhere = tempDir()
        defer { for d in [root, elsewhere] { try? FileManager.default.removeItem(atPath: d) } }
        #expect(try runDropline(["init", root]).exitCode == 0)
        try FileManager.default.moveItem(atPath: root + "/pipelines", toPath: elsewhere)
        #expect(try runDropline(["run", "--root", root, "--dry-run"]).exitCode == 78)
        for option in ["--pipelines", "--pipelines-directory"] {
            let result = try runDropline(["run", "--root", root, "--dry-run", "--json", option, elsewhere])
            #expect(result.exitCode == 0, "\(option): \(result.stderr)")
            #expect(result.stdout.contains("\"dry_run\":true"))
        }
    }

    @Test func runJSONSummaryAndExitCodes() throws {
        let root = tempDir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try runDropline(["init", root])
        for name in ["ERP_RATES_ERP01_20261127_001.xml", "ERP_PERIODS_ERP01_20261127_001.xml"] {
            try FileManager.default.copyItem(atPath: TestPaths.examples + "/inbound/" + name, toPath: root + "/inbox/" + name)
        }
        let result = try runDropline(["run", "--root", root, "--json", "--settle-seconds", "0", "--as-of", "2026-11-28"])
        #expect(result.exitCode == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["exit_code"] as? Int == 0)
        #expect(json["run_date"] as? String == "2026-11-28")
        let files = try #require(json["files"] as? [[String: Any]])
        #expect(files.map { $0["name"] as? String } == ["ERP_PERIODS_ERP01_20261127_001.xml", "ERP_RATES_ERP01_20261127_001.xml"])
        #expect(files.allSatisfy { ($0["records"] as? [String: Int])?["loaded"] == 3 })
        // A file without marker waits for its settle time.
        try FileManager.default.copyItem(atPath: TestPaths.examples + "/inbound/PSA_PROJECTS_PSA01_20261127_001.xml", toPath: root + "/inbox/PSA_PROJECTS_PSA01_20261127_001.xml")
        let waiting = try runDropline(["run", "--root", root, "--json"])
        #expect(waiting.exitCode == 0)
        #expect(waiting.stdout.contains("\"waiting\":[\"PSA_PROJECTS_PSA01_20261127_001.xml\"]"))
        #expect(try runDropline(["run", "--root", root, "--as-of", "2026-13-01"]).exitCode == 64)
        #expect(try runDropline(["run", "nosuch", "--root", root]).exitCode == 66)
        #expect(try runDropline(["run", "--root", root + "/missing"]).exitCode == 66)
    }

    @Test func demoRunsTheSamples() throws {
        let root = tempDir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try runDropline(["demo", root])
        #expect(result.exitCode == 0)
        #expect(result.stdout.contains("== night-1"))
        #expect(result.stdout.contains("[not_well_formed]"))
        #expect(result.stdout.contains("[duplicate_file]"))
        #expect(result.stdout.contains("wrote       outbound/psa/PSA_RESOURCES_20261127_001.csv (8 rows)"))
        #expect(result.stdout.contains("total                                   7    236.70     232.70      154.50"))
        // Reports on the demo zone.
        let report = try runDropline(["report", "utilization", "--week", "2026-W48", "--root", root, "--format", "csv", "--region", "EMEA"])
        #expect(report.exitCode == 0)
        #expect(report.stdout.split(separator: "\n").count == 6)
        #expect(report.stdout.contains("2026-W48,2026-11-23,EMEA,CLOUD,PCON,Y,1,40.00,0.00,40.00,35.00,1.00,0.00,0.00,0.00,0.00,36.00,0.8750,0.9000"))
        #expect(try runDropline(["report", "utilization", "--week", "2026-48", "--root", root]).exitCode == 64)
        let held = try runDropline(["held", "--root", root, "--json"])
        #expect(held.exitCode == 0)
        #expect(held.stdout.contains("\"reason\" : \"unknown_worker\""))
        #expect(held.stdout.contains("\"expires_on\" : \"2026-12-02\""))
        let reconcile = try runDropline(["reconcile", "--root", root, "--period", "2026-11"])
        #expect(reconcile.exitCode == 1)
        #expect(reconcile.stdout.contains("Approved 214.50 h, posted to the ERP 187.00 h"))
        #expect(reconcile.stdout.contains("TE-00001030"))
        // History gives a loaded file's counts as the run printed them, and none for the others.
        let history = try runDropline(["history", "--root", root])
        #expect(history.exitCode == 0)
        #expect(history.stdout.contains("PSA_TIMESHEETS_PSA01_20261127_001.xml  loaded 25, rejected 3, held 2, skipped 2 (day_over_24 1, no_erp_project_number 1, unknown_project 1, unknown_worker 1, unmapped_category 1)\n"), "\(history.stdout)")
        #expect(history.stdout.contains("ERP_RATES_ERP01_20261128_001.xml  [duplicate_file]\n"), "\(history.stdout)")
        // Mistyped filters are errors, not empty answers ("no gaps", "no held entries").
        let typo = try runDropline(["reconcile", "--root", root, "--period", "2026-13"])
        #expect(typo.exitCode == 64)
        #expect(typo.stderr.contains("--period needs a month like 2026-11, got '2026-13'"))
        let reason = try runDropline(["held", "--root", root, "--reason", "unknwon_worker"])
        #expect(reason.exitCode == 64)
        #expect(reason.stderr.contains("--reason must be a hold reason (no_erp_project_number, period_closing, unknown_worker), got 'unknwon_worker'"))
        let pipeline = try runDropline(["history", "--root", root, "--pipeline", "wokers"])
        #expect(pipeline.exitCode == 66)
        #expect(pipeline.stderr.contains("no pipeline 'wokers'; did you mean 'workers'?"))
        let rejects = try runDropline(["rejects", "list", "--root", root, "--pipeline", "wokers"])
        #expect(rejects.exitCode == 66)
        #expect(rejects.stderr.contains("no pipeline 'wokers'; did you mean 'workers'?"))
        let region = try runDropline(["report", "utilization", "--root", root, "--week", "2026-W48", "--region", "EMAE"])
        #expect(region.exitCode == 0)
        #expect(region.stdout.contains("no utilization facts for 2026-W48 (region EMAE)"))
        let status = try runDropline(["status", "--root", root, "--json"])
        #expect(status.exitCode == 0)
        #expect(status.stdout.contains("\"held_entries\" : 1"))
        #expect(status.stdout.contains("\"psa_code\" : \"PRJ-10078\""))
        #expect(status.stdout.contains("\"quarantined_files\" : 1"))
        // No personal data in the log.
        let log = try String(contentsOfFile: root + "/logs/dropline.jsonl", encoding: .utf8)
        for secret in ["Müller", "Tanaka", "example.com", "Fabrikam", "García", "Workshop prep", "Rework after review"] { #expect(!log.contains(secret)) }
    }
}
