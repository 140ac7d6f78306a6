import DroplineCore
import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// The shipped pipelines on the contract's example files.
@Suite(.serialized)
struct MasterDataTests {
    static let night1 = ["HR_WORKERS_HRIS01_20261127_001.xml", "PSA_PROJECTS_PSA01_20261127_001.xml", "ERP_PERIODS_ERP01_20261127_001.xml", "ERP_RATES_ERP01_20261127_001.xml"]

    func count(_ zone: TemporaryDropZone, _ sql: String) throws -> Int {
        try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { try Int.fetchOne($0, sql: sql) ?? -1 }
    }

    func loadNight1(_ zone: TemporaryDropZone) throws -> RunSummary {
        for name in Self.night1 { try zone.drop(TestPaths.examples + "/inbound/" + name, marker: name != "ERP_PERIODS_ERP01_20261127_001.xml") }
        return try zone.run(asOf: "2026-11-28")
    }

    /// Amounts stay exact because the rate card's schema bounds rates: xs:decimal in libxml2
    /// holds at most 24 digits, so a rate of 26 digits is refused (`invalid_field`) and one of 22
    /// is stored as written. 24 digits times hours of at most 4 digits fit the 38 digits of exact
    /// decimal arithmetic; a 36-digit rate would not (hours x rate would round silently).
    @Test func ratesAreBoundedByTheSchemaSoAmountsStayExact() throws {
        let zone = try TemporaryDropZone()
        var text = try String(contentsOfFile: TestPaths.examples + "/inbound/ERP_RATES_ERP01_20261127_001.xml", encoding: .utf8)
        text = text.replacingOccurrences(of: "billRate=\"120.00\"", with: "billRate=\"123456789012345678901234.56\"")
            .replacingOccurrences(of: "billRate=\"145.00\"", with: "billRate=\"12345678901234567890.12\"")
        try zone.drop(data: Data(text.utf8), as: "ERP_RATES_ERP01_20261127_001.xml")
        for name in Self.night1.dropLast() { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        let summary = try zone.run(asOf: "2026-11-28")
        let rates = try #require(summary.files.first { $0.pipeline == "rates" })
        #expect(rates.records["loaded"] == 2 && rates.records["rejected"] == 1)
        let path = try #require(zone.files(in: "rejected").first { $0.hasSuffix("ERP_RATES_ERP01_20261127_001.xml.rejects.jsonl") })
        let line = try String(contentsOfFile: zone.root + "/rejected/" + path, encoding: .utf8)
        #expect(line.contains("\"code\":\"invalid_field\"") && line.contains("billRate") && line.contains("\"key\":\"CONS/EMEA//2026-01-01\""))
        #expect(try count(zone, "SELECT COUNT(*) FROM rates WHERE bill_rate = '12345678901234567890.12'") == 1)
    }

    @Test func examplesLoadWithTheirTrailerCounts() throws {
        let zone = try TemporaryDropZone()
        let summary = try loadNight1(zone)
        #expect(summary.exit_code == 0)
        let byName = Dictionary(uniqueKeysWithValues: summary.files.map { ($0.name, $0) })
        #expect(byName["HR_WORKERS_HRIS01_20261127_001.xml"]?.records["loaded"] == 3)
        #expect(byName["PSA_PROJECTS_PSA01_20261127_001.xml"]?.records["loaded"] == 3)
        #expect(byName["ERP_PERIODS_ERP01_20261127_001.xml"]?.records["loaded"] == 3)
        #expect(byName["ERP_RATES_ERP01_20261127_001.xml"]?.records["loaded"] == 3)
        #expect(summary.files.allSatisfy { $0.outcome == "loaded" && $0.records["rejected"] == 0 })
        // Contract order: HR, projects, (acks), periods, rates.
        #expect(summary.files.map(\.pipeline) == ["workers", "projects", "periods", "rates"])
        #expect(try count(zone, "SELECT COUNT(*) FROM workers") == 3)
        #expect(try count(zone, "SELECT COUNT(*) FROM workers WHERE email = 'jose.mueller@example.com'") == 0)
        #expect(try count(zone, "SELECT COUNT(*) FROM workers WHERE length(email) = 64") == 2)
        #expect(try count(zone, "SELECT COUNT(*) FROM workers WHERE email IS NULL") == 1)
        #expect(try count(zone, "SELECT COUNT(*) FROM rates WHERE valid_to = '9999-12-31'") == 1)
        #expect(try count(zone, "SELECT COUNT(*) FROM projects WHERE erp_project_number IS NULL") == 2)
        #expect(zone.files(in: "inbox").isEmpty)
        #expect(zone.files(in: "archive").filter { $0.hasSuffix(".xml") }.count == 4)
        // The resource feed matches the contract's example byte for byte.
        let written = try Data(contentsOf: URL(fileURLWithPath: zone.root + "/outbound/psa/PSA_RESOURCES_20261127_001.csv"))
        let expected = try Data(contentsOf: URL(fileURLWithPath: TestPaths.examples + "/outbound/PSA_RESOURCES_20261127_001.csv"))
        #expect(written == expected)
        #expect(FileManager.default.fileExists(atPath: zone.root + "/outbound/psa/PSA_RESOURCES_20261127_001.csv.done"))
    }

    @Test func secondNightTerminatesAndAcknowledges() throws {
        let zone = try TemporaryDropZone()
        _ = try loadNight1(zone)
        try zone.drop(TestPaths.examples + "/inbound/HR_WORKERS_HRIS01_20261128_001.xml")
        try zone.drop(TestPaths.examples + "/inbound/ERP_PROJECT_ACK_ERP01_20261128_001.xml")
        let summary = try zone.run(asOf: "2026-11-29")
        #expect(summary.exit_code == 0)
        #expect(summary.files.map { $0.records["loaded"] } == [1, 2])
        let written = try Data(contentsOf: URL(fileURLWithPath: zone.root + "/outbound/psa/PSA_RESOURCES_20261128_001.csv"))
        let expected = try Data(contentsOf: URL(fileURLWithPath: TestPaths.examples + "/outbound/PSA_RESOURCES_20261128_001.csv"))
        #expect(written == expected)
        #expect(try count(zone, "SELECT COUNT(*) FROM projects WHERE code = 'PRJ-10077' AND erp_project_number = '4000199'") == 1)
        #expect(try count(zone, "SELECT COUNT(*) FROM projects WHERE code = 'PRJ-10078' AND erp_project_number IS NULL") == 1)
        #expect(try count(zone, "SELECT COUNT(*) FROM project_acks WHERE psa_code = 'PRJ-10078' AND status = 'failed' AND message = 'cost center missing'") == 1)
    }

    /// examples/bad/EXPECTED.md, for the master-data files.
    @Test(arguments: [
        ("PSA_PROJECTS_PSA01_20261127_002.xml", "quarantined", "schema_root"),
        ("ERP_PERIODS_ERP01_20261127_002.xml", "quarantined", "schema_root"),
        ("ERP_RATES_ERP01_20261127_002.xml", "quarantined", "control_total_mismatch"),
        ("ERP_PERIODS_ERP01_20261127_003.xml", "quarantined", "export_id_conflict"),
        ("ERP_RATES_ERP01_20261127_003.xml", "skipped", "duplicate_file"),
    ])
    func badFilesGetTheirExpectedOutcome(_ name: String, _ outcome: String, _ reason: String) throws {
        let zone = try TemporaryDropZone()
        _ = try loadNight1(zone)
        let before = try count(zone, "SELECT (SELECT COUNT(*) FROM periods) + (SELECT COUNT(*) FROM rates) + (SELECT COUNT(*) FROM projects)")
        try zone.drop(TestPaths.examples + "/bad/" + name)
        let summary = try zone.run(asOf: "2026-11-28")
        let file = try #require(summary.files.first { $0.name == name })
        #expect(file.outcome == outcome)
        #expect(file.reason == reason)
        #expect(summary.exit_code == (outcome == "quarantined" ? 1 : 0))
        #expect(try count(zone, "SELECT (SELECT COUNT(*) FROM periods) + (SELECT COUNT(*) FROM rates) + (SELECT COUNT(*) FROM projects)") == before)
        #expect(try count(zone, "SELECT COUNT(*) FROM periods WHERE status = 'closing'") == 0)
        if outcome == "quarantined" {
            let pipeline = file.pipeline
            let sidecar = zone.root + "/quarantine/\(pipeline)/\(name).error.json"
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sidecar))) as? [String: Any]
            #expect(json?["reason"] as? String == reason)
            #expect(json?["sha256"] as? String == file.sha256)
            #expect(FileManager.default.fileExists(atPath: zone.root + "/quarantine/\(pipeline)/\(name)"))
        } else {
            #expect(zone.files(in: "archive").contains { $0.hasSuffix("/" + name) })
        }
        #expect(!FileManager.default.fileExists(atPath: zone.zone.inbox + "/" + name))
    }

    @Test func badRecordsAreRejectedAndTheRestLoads() throws {
        let zone = try TemporaryDropZone()
        try zone.drop(TestPaths.samples + "/night-1/HR_WORKERS_HRIS01_20261127_001.xml")
        let summary = try zone.run(asOf: "2026-11-28")
        let file = try #require(summary.files.first)
        #expect(file.records["loaded"] == 8)
        #expect(file.records["rejected"] == 3)
        #expect(file.reasons == ["invalid_field": 2, "overlapping_validity": 1])
        #expect(summary.exit_code == 1)
        let rejects = zone.files(in: "rejected")
        let jsonl = try #require(rejects.first { $0.hasSuffix(".rejects.jsonl") })
        let lines = try String(contentsOfFile: zone.root + "/rejected/" + jsonl, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.contains("\"primary_reason\"") && $0.contains("\"line\"") })
        var st = stat()
        stat(zone.root + "/rejected/" + jsonl, &st)
        #expect(st.st_mode & 0o777 == 0o600)
    }

    @Test func emptyInboxRerunChangesNothing() throws {
        let zone = try TemporaryDropZone()
        _ = try loadNight1(zone)
        let summary = try zone.run(asOf: "2026-11-28")
        #expect(summary.files.isEmpty)
        #expect(summary.exit_code == 0)
        #expect(summary.outputs.isEmpty)
    }

    @Test func unmatchedFileIsQuarantinedNoPipeline() throws {
        let zone = try TemporaryDropZone()
        try zone.drop(data: Data("<x/>".utf8), as: "INVOICES_20261127.xml")
        let summary = try zone.run(asOf: "2026-11-28")
        #expect(summary.files.first?.reason == "no_pipeline")
        #expect(FileManager.default.fileExists(atPath: zone.root + "/quarantine/_unmatched/INVOICES_20261127.xml.error.json"))
    }

    @Test func dryRunMovesAndWritesNothing() throws {
        let zone = try TemporaryDropZone()
        for name in Self.night1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        var request = RunRequest(root: zone.root)
        request.settleSeconds = 0
        request.dryRun = true
        request.asOf = BusinessDate(iso: "2026-11-28")
        let summary = try PipelineRunner(request: request).run()
        #expect(summary.files.count == 4)
        #expect(summary.files.allSatisfy { $0.outcome == "loaded" })
        #expect(zone.files(in: "inbox").filter { $0.hasSuffix(".xml") }.count == 4)
        #expect(zone.files(in: "archive").isEmpty)
        #expect(zone.files(in: "outbound").isEmpty)
        #expect(try count(zone, "SELECT COUNT(*) FROM _dropline_file_load") == 0)
    }
}

/// Record-level reason codes of the master data: overlapping validity, invalid termination,
/// unknown project and ERP number conflict on acknowledgements.
@Suite(.serialized)
struct MasterDataReasonTests {
    @Test func sampleNightTwoRejectsWithTheContractsCodes() throws {
        let zone = try TemporaryDropZone()
        for name in ["HR_WORKERS_HRIS01_20261127_001.xml", "PSA_PROJECTS_PSA01_20261127_001.xml"] { try zone.drop(TestPaths.samples + "/night-1/" + name) }
        let night1 = try zone.run(asOf: "2026-11-28")
        #expect(night1.files.first { $0.pipeline == "workers" }?.reasons["overlapping_validity"] == 1)
        for name in ["HR_WORKERS_HRIS01_20261128_001.xml", "ERP_PROJECT_ACK_ERP01_20261128_001.xml"] { try zone.drop(TestPaths.samples + "/night-2/" + name) }
        let night2 = try zone.run(asOf: "2026-11-29")
        let workers = try #require(night2.files.first { $0.pipeline == "workers" })
        #expect(workers.reasons == ["invalid_termination": 1])
        #expect(workers.records["loaded"] == 2)
        let acks = try #require(night2.files.first { $0.pipeline == "project_acks" })
        #expect(acks.reasons == ["erp_number_conflict": 1, "unknown_project": 1])
        #expect(acks.records["loaded"] == 2)
        let lines = try String(contentsOfFile: zone.root + "/" + (try #require(try RejectReview(root: zone.root).list(pipeline: "project_acks", since: nil).first)).jsonl, encoding: .utf8)
        #expect(lines.contains("\"key\":\"PRJ-10042\"") && lines.contains("\"primary_reason\":\"erp_number_conflict\""))
        #expect(lines.contains("\"key\":\"PRJ-99999\"") && lines.contains("\"primary_reason\":\"unknown_project\""))
    }
}
