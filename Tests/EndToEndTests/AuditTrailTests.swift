import DroplineCore
import DroplineRuntime
import DroplineTesting
import Foundation
import Testing

/// Manifests, `dropline verify`, metrics and the promise that no personal data leaks.
@Suite(.serialized)
struct AuditTrailTests {
    /// The demo zone: two nights with quarantine, rejects, holds and every kind of output.
    func demoZone() throws -> String {
        let root = NSTemporaryDirectory() + "dropline-audit-" + UUID().uuidString
        #expect(try runDropline(["demo", root]).exitCode == 0)
        return root
    }

    func verify(_ root: String) throws -> ProcessResult { try runDropline(["verify", "--root", root]) }

    func firstFile(_ root: String, under folder: String, suffix: String) throws -> String {
        let files = (FileManager.default.enumerator(atPath: root + "/" + folder)?.allObjects as? [String]) ?? []
        let name: String? = files.sorted().first { $0.hasSuffix(suffix) }
        return root + "/" + folder + "/" + (try #require(name))
    }

    /// Manifest paths in chain order come from the ledger (run ids of one second do not sort).
    func manifestPath(_ root: String, _ pipeline: String, _ sequence: Int) throws -> String {
        try #require(try Ledger(path: root + "/state/ledger.sqlite").manifests().first { $0.pipeline == pipeline && $0.sequence == sequence }?.path)
    }

    func append(_ path: String, _ text: String = " ") throws {
        let h = try #require(FileHandle(forWritingAtPath: path))
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
        try h.close()
    }

    /// A file of a size the ledger has never seen is hashed while it is read, any other before:
    /// both ways its SHA-256 in the summary and the ledger is the file's, and a byte-identical
    /// copy is still a duplicate (one of the same size but other bytes is not).
    @Test func everyFileHasItsOwnSHA256HashedBeforeOrWhileRead() throws {
        let zone = try TemporaryDropZone()
        let original = TestPaths.examples + "/inbound/ERP_RATES_ERP01_20261127_001.xml"
        let text = try String(contentsOfFile: original, encoding: .utf8)
        let sameSize = Data(text.replacingOccurrences(of: "ERP-R-20261127-001", with: "ERP-R-20261127-002").utf8)
        #expect(sameSize.count == Data(text.utf8).count && sameSize != Data(text.utf8))
        let ledger = try Ledger(path: zone.root + "/state/ledger.sqlite")
        func check(_ summary: RunSummary, _ outcome: String, _ bytes: Data) throws {
            let file = try #require(summary.files.first)
            #expect(file.outcome == outcome, "\(file)")
            let path = NSTemporaryDirectory() + "dropline-sha-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: path) }
            try bytes.write(to: URL(fileURLWithPath: path))
            let expected = try FileDigest.sha256(path: path).hex
            #expect(file.sha256 == expected)
            #expect(try ledger.files(runID: summary.run_id).map(\.sha256) == [expected])
        }
        // A new size: hashed while read.
        _ = try zone.drop(original)
        try check(try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:00:00Z"), "loaded", Data(text.utf8))
        // The same size, other bytes: hashed first, not a duplicate.
        try zone.drop(data: sameSize, as: "ERP_RATES_ERP01_20261127_002.xml")
        try check(try zone.run(asOf: "2026-11-28", at: "2026-11-28T02:00:00Z"), "loaded", sameSize)
        // The same bytes again.
        _ = try zone.drop(original, as: "ERP_RATES_ERP01_20261127_003.xml")
        try check(try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z"), "skipped", Data(text.utf8))
    }

    @Test func verifyPassesAfterTheDemo() throws {
        let root = try demoZone()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try verify(root)
        #expect(r.exitCode == 0, "\(r.stdout)")
        #expect(r.stdout.contains(" 0 problem(s)"))
    }

    @Test(arguments: ["archived input", "outbound file", "reject file", "quarantine sidecar", "manifest in the middle", "deleted manifest", "deleted newest manifest"])
    func verifyCatchesTampering(_ kind: String) throws {
        let root = try demoZone()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let expected: String
        switch kind {
        case "archived input":
            let f = try firstFile(root, under: "archive", suffix: "PSA_PROJECTS_PSA01_20261127_001.xml")
            try append(f)
            expected = "archive/projects/2026/11/28/PSA_PROJECTS_PSA01_20261127_001.xml: archived input changed: SHA-256 is"
        case "outbound file":
            let f = root + "/outbound/erp/ERP_LABOR_1000_20261128_001.xml"
            try String(contentsOfFile: f, encoding: .utf8).replacingOccurrences(of: "hours=\"8.00\"", with: "hours=\"9.00\"").write(toFile: f, atomically: true, encoding: .utf8)
            expected = "outbound/erp/ERP_LABOR_1000_20261128_001.xml: outbound file changed"
        case "reject file":
            let f = try firstFile(root, under: "rejected/workers", suffix: ".rejects.jsonl")
            try append(f, "{}\n")
            expected = ".rejects.jsonl: reject file changed"
        case "quarantine sidecar":
            try append(root + "/quarantine/rates/ERP_RATES_ERP01_20261127_002.xml.error.json")
            expected = "quarantine/rates/ERP_RATES_ERP01_20261127_002.xml.error.json: quarantine sidecar changed"
        case "manifest in the middle":
            let path = root + "/" + (try manifestPath(root, "workers", 1))
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains("\"run_date\" : \"2026-11-28\""))
            try text.replacingOccurrences(of: "\"run_date\" : \"2026-11-28\"", with: "\"run_date\" : \"2026-11-27\"").write(toFile: path, atomically: true, encoding: .utf8)
            expected = "manifest changed"
        case "deleted manifest":
            try FileManager.default.removeItem(atPath: root + "/" + (try manifestPath(root, "workers", 1)))
            expected = "manifest 1 of workers is missing"
        default:
            try FileManager.default.removeItem(atPath: root + "/" + (try manifestPath(root, "time_entries", 2)))
            expected = "manifest 2 of time_entries is missing"
        }
        let r = try verify(root)
        #expect(r.exitCode == 65)
        #expect(r.stdout.contains(expected), "\(kind): \(r.stdout)")
    }

    @Test func metricsFileParsesLineByLine() throws {
        let root = try demoZone()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let text = try String(contentsOfFile: root + "/metrics/dropline.prom", encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        let sample = try NSRegularExpression(pattern: #"^(dropline_[a-z_]+)(\{([a-z_]+="[^"\\]*")(,[a-z_]+="[^"\\]*")*\})? (-?[0-9]+(\.[0-9]+)?)$"#)
        var typed = Set<String>(), helped = Set<String>()
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# HELP ") {
                helped.insert(String(line.dropFirst(7).prefix { $0 != " " }))
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 4 && ["counter", "gauge"].contains(String(parts[3])), "\(line)")
                typed.insert(String(parts[2]))
            } else {
                let m = try #require(sample.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), "not a sample: \(line)")
                let name = String(line[Range(m.range(at: 1), in: line)!])
                #expect(typed.contains(name) && helped.contains(name), "\(name) has no HELP/TYPE before it")
                if name.hasSuffix("_total") { #expect(text.contains("# TYPE \(name) counter")) }
                values[String(line.split(separator: " ").first!)] = Double(line.split(separator: " ").last!)
            }
        }
        #expect(values["dropline_held_entries{reason=\"unknown_worker\"}"] == 1)
        #expect(values["dropline_project_requests_failed"] == 1)
        #expect(values["dropline_files_total{pipeline=\"rates\",outcome=\"quarantined\",reason=\"not_well_formed\"}"] == 1)
        #expect(values["dropline_records_total{pipeline=\"time_entries\",outcome=\"loaded\"}"] == 28)
        #expect(values["dropline_reconciliation_gap_hours"] == 27.5)
        #expect(values["dropline_approval_backlog_timesheets"] == 0)
        #expect((values["dropline_last_success_timestamp_seconds{pipeline=\"workers\"}"] ?? 0) > 1_700_000_000)
    }

    @Test func goldenManifestStaysReadable() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.repository + "/Tests/Fixtures/manifest-v1.json"))
        let m = try RunManifest.read(data)
        #expect(m.format_version == 1)
        #expect(m.pipeline.name == "time_entries")
        #expect(m.outputs.first?.control?["postingCount"] == "4")
        #expect(m.previous_manifest_sha256?.count == 64)
        let newer = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 2")
        #expect(throws: DecodingError.self) { try RunManifest.read(Data(newer.utf8)) }
    }

    @Test func noPersonalDataInLogsManifestsOrMetrics() throws {
        let root = try demoZone()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Names, e-mails and notes from the samples.
        var secrets = ["jose.mueller@example.com", "example.com", "Workshop prep", "Rework after review", "Corrected: client call", "Contoso", "Fabrikam"]
        for name in ["José", "Müller", "Søren", "Ødegård", "Françoise", "Lefèvre", "Íñigo", "Sáenz", "Björn", "Åkesson", "García", "Tanaka", "Noël", "Dubois", "Jónsson"] { secrets.append(name) }
        var checked = 0
        for folder in ["logs", "manifests", "metrics"] {
            for rel in (FileManager.default.enumerator(atPath: root + "/" + folder)?.allObjects as? [String]) ?? [] {
                guard let text = try? String(contentsOfFile: root + "/" + folder + "/" + rel, encoding: .utf8) else { continue }
                checked += 1
                for s in secrets { #expect(!text.contains(s), "\(folder)/\(rel) contains personal data") }
            }
        }
        #expect(checked >= 12)
    }
}
