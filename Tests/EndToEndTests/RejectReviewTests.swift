import DroplineCore
import DroplineExtract
import DroplineRuntime
import DroplineTesting
import DroplineXML
import Foundation
import GRDB
import Testing

/// Rejected-record review: reject files in the input's shape, a person's fix, resubmission with
/// lineage, nothing posted twice, the reconciliation gap closing.
@Suite(.serialized)
struct RejectReviewTests {
    @Test func fixResubmitPostAndReconcile() throws {
        let zone = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        try zone.drop(TestPaths.examples + "/bad/PSA_TIMESHEETS_PSA01_20261127_004.xml")
        let night = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z")
        let bad = try #require(night.files.first { $0.name == "PSA_TIMESHEETS_PSA01_20261127_004.xml" })
        #expect(bad.records["rejected"] == 12)

        // The reject folder: XML in the input's shape, JSON lines, README; private.
        let review = try RejectReview(root: zone.root)
        let entry = try #require(review.list(pipeline: "time_entries", since: nil).first { $0.file == "PSA_TIMESHEETS_PSA01_20261127_004.xml" })
        let xmlPath = zone.root + "/" + (try #require(entry.xml))
        let folder = (xmlPath as NSString).deletingLastPathComponent
        var st = stat()
        stat(folder, &st); #expect(st.st_mode & 0o777 == 0o700)
        stat(xmlPath, &st); #expect(st.st_mode & 0o777 == 0o600)
        let readme = try String(contentsOfFile: folder + "/README.txt", encoding: .utf8)
        #expect(readme.contains("6 x invalid_field"))
        #expect(readme.contains("dropline rejects resubmit"))
        let rejectXML = try String(contentsOfFile: xmlPath, encoding: .utf8)
        let original = try String(contentsOfFile: TestPaths.examples + "/bad/PSA_TIMESHEETS_PSA01_20261127_004.xml", encoding: .utf8)
        // Byte-faithful: every line of the reject file but the root and the trailer is a line of the original.
        for line in rejectXML.split(separator: "\n") where !line.contains("exportId=") && !line.contains("<Control ") {
            #expect(original.contains(line), "not in the original: \(line)")
        }
        #expect(rejectXML.contains("exportId=\"PSA-T-20261127-004-R001\""))
        #expect(rejectXML.contains("<Control timesheetCount=\"3\" entryCount=\"12\" totalHours=\"78.125\"/>"))
        #expect(!rejectXML.contains("TE-00000111") && !rejectXML.contains("TE-00000113"))
        // The reject file is a loadable export: root level and control totals hold (the schema
        // faults it carries are record-level, the ones to fix).
        let d = try PipelineLoader().load(file: TestPaths.pipelines + "/time_entries.yaml")
        let schema = try XMLSchema(path: TestPaths.pipelines + "/schemas/psa-timesheets.xsd")
        let summary = try XMLRecordExtractor(definition: d.extract, schema: schema).run(path: xmlPath, header: { _ in }, record: { _ in })
        #expect(summary.counts == ["timesheet": 3, "entry": 12])

        // A reviewer fixes two values, as in an editor.
        let fixed = rejectXML
            .replacingOccurrences(of: "<Entry id=\"TE-00000101\" date=\"2026-11-27\" project=\"PRJ-10042\" task=\"T-01\" hours=\"7,50\"", with: "<Entry id=\"TE-00000101\" date=\"2026-11-27\" project=\"PRJ-10042\" task=\"T-01\" hours=\"7.50\"")
            .replacingOccurrences(of: "hours=\"25.00\"", with: "hours=\"2.50\"")
        try fixed.write(toFile: xmlPath, atomically: true, encoding: .utf8)
        let before = try ZoneReports(root: zone.root).reconcile(period: "2026-11").gaps.map(\.entry_id)
        // TE-00000101's hours (7,50) are no number, so only TE-00000104 can show as a gap.
        #expect(before.contains("TE-00000104"))

        let r = try runDropline(["rejects", "resubmit", entry.xml!, "--root", zone.root])
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stdout.contains("as inbox/PSA_TIMESHEETS_PSA01_20261127_005.xml"))
        let inboxFile = try String(contentsOfFile: zone.zone.inbox + "/PSA_TIMESHEETS_PSA01_20261127_005.xml", encoding: .utf8)
        #expect(inboxFile.contains("totalHours=\"63.125\""))  // 78.125 - 25 + 2.5 + 7.5
        let again = try zone.run(asOf: "2026-11-28", at: "2026-11-28T04:00:00Z")
        let resubmitted = try #require(again.files.first { $0.name == "PSA_TIMESHEETS_PSA01_20261127_005.xml" })
        #expect(resubmitted.outcome == "loaded", "\(resubmitted.message ?? "")")
        #expect(resubmitted.records["loaded"] == 2)
        #expect(resubmitted.records["rejected"] == 10)
        // Its own reject file counts on from the original export id instead of stacking suffixes.
        let rerejected = try String(contentsOfFile: zone.root + "/rejected/time_entries/" + again.run_id + "/PSA_TIMESHEETS_PSA01_20261127_005.xml", encoding: .utf8)
        #expect(rerejected.contains("exportId=\"PSA-T-20261127-004-R002\""))
        let labor = try #require(again.outputs.first { $0.path.contains("ERP_LABOR_") })
        #expect(labor.records == 2)
        let laborText = String(decoding: try zone.read(labor.path), as: UTF8.self)
        #expect(laborText.contains("P-TE-00000101-001") && laborText.contains("P-TE-00000104-001"))

        // Lineage: the run's manifest names the reject file, original file and run.
        let manifestPath = try #require(again.manifests.first { $0.contains("/time_entries/") })
        let manifest = try RunManifest.read(try zone.read(manifestPath))
        let lineage = try #require(manifest.inputs.first { $0.name == "PSA_TIMESHEETS_PSA01_20261127_005.xml" }?.resubmission_of)
        #expect(lineage.original_file == "PSA_TIMESHEETS_PSA01_20261127_004.xml")
        #expect(lineage.rejects_file == entry.xml)
        #expect(lineage.original_run_id == entry.run_id)
        // The gap for the fixed entries closed; the others remain with their cause.
        let after = try ZoneReports(root: zone.root).reconcile(period: "2026-11").gaps.map(\.entry_id)
        #expect(!after.contains("TE-00000101") && !after.contains("TE-00000104"))
        #expect(after.contains("TE-00000105"))

        // Resubmitting the same correction again posts nothing twice.
        #expect(try runDropline(["rejects", "resubmit", entry.xml!, "--root", zone.root]).exitCode == 0)
        let third = try zone.run(asOf: "2026-11-28", at: "2026-11-28T05:00:00Z")
        #expect(third.files.first?.reason == "duplicate_file")
        #expect(!third.outputs.contains { $0.path.contains("ERP_LABOR_") })
        let posted = try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM postings WHERE entry_id IN ('TE-00000101', 'TE-00000104')") }
        #expect(posted == 2)
    }

    @Test func resubmittingABrokenFileIsRefusedWithItsPlace() throws {
        let zone = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        let entry = try #require(try RejectReview(root: zone.root).list(pipeline: "time_entries", since: nil).first)
        let path = zone.root + "/" + entry.xml!
        try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "</Timesheet>", with: "</Timesheets>").write(toFile: path, atomically: true, encoding: .utf8)
        let r = try runDropline(["rejects", "resubmit", entry.xml!, "--root", zone.root])
        #expect(r.exitCode == 66)
        #expect(r.stderr.contains("not_well_formed"))
        #expect(zone.files(in: "inbox").isEmpty)
    }

    /// Resubmitting and purging change what a run reads and lists (inbox, ledger numbers, reject
    /// folders its manifest hashes): while a run holds the zone's lock they are refused with
    /// exit 75 (try again), and nothing changed; listing what a purge would remove still works.
    @Test func resubmitAndPurgeWaitForTheRun() throws {
        let zone = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        let entry = try #require(try RejectReview(root: zone.root).list(pipeline: "time_entries", since: nil).first)
        let rejected = zone.files(in: "rejected")
        try withExtendedLifetime(try RunLock(zone: zone.zone)) {
            let resubmit = try runDropline(["rejects", "resubmit", entry.xml!, "--root", zone.root])
            #expect(resubmit.exitCode == 75 && resubmit.stderr.contains("lock"))
            let purge = try runDropline(["rejects", "purge", "--older-than", "0d", "--apply", "--root", zone.root])
            #expect(purge.exitCode == 75)
            #expect(try runDropline(["rejects", "purge", "--older-than", "0d", "--root", zone.root]).exitCode == 0)
        }
        #expect(zone.files(in: "inbox").isEmpty)
        #expect(zone.files(in: "rejected") == rejected)
        #expect(try runDropline(["rejects", "resubmit", entry.xml!, "--root", zone.root]).exitCode == 0)
        #expect(zone.files(in: "inbox").count == 2)
    }

    @Test func masterDataRejectsAndPurge() throws {
        let zone = try TemporaryDropZone()
        try zone.drop(TestPaths.samples + "/night-1/HR_WORKERS_HRIS01_20261127_001.xml")
        _ = try zone.run(asOf: "2026-11-28")
        let entry = try #require(try RejectReview(root: zone.root).list(pipeline: "workers", since: nil).first)
        let xml = try Data(contentsOf: URL(fileURLWithPath: zone.root + "/" + entry.xml!))
        let text = String(decoding: xml, as: Unicode.ASCII.self)
        // Still ISO-8859-1 bytes, declared as such; three WORKER records and a recomputed trailer.
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"))
        #expect(xml.contains(0xEB))  // the ë of Noël, as a Latin-1 byte
        #expect(text.components(separatedBy: "<WORKER ").count - 1 == 3)
        #expect(text.contains("<TRAILER RECORD_COUNT=\"3\"/>"))
        #expect(text.contains("EXPORT_ID=\"HR-20261127-001-R001\""))
        let list = try runDropline(["rejects", "purge", "--older-than", "0d", "--root", zone.root])
        #expect(list.exitCode == 0)
        let dry = try RejectReview(root: zone.root).purge(olderThanDays: 0, today: BusinessDate(iso: "2099-01-01")!, apply: false)
        #expect(dry.count == 1)
        #expect(!zone.files(in: "rejected").isEmpty)
        let verifiedBefore = try ManifestVerifier(root: zone.root).verify()
        #expect(verifiedBefore.problems.isEmpty && verifiedBefore.purged_reject_files == 0)
        _ = try RejectReview(root: zone.root).purge(olderThanDays: 0, today: BusinessDate(iso: "2099-01-01")!, apply: true)
        #expect(zone.files(in: "rejected").isEmpty)
        // Purging is what the README asks for personal data; the audit check knows of it and
        // checks the rest (the purged folder held the XML copy, the records file and README.txt).
        let verified = try ManifestVerifier(root: zone.root).verify()
        #expect(verified.problems.isEmpty, "\(verified.problems)")
        #expect(verified.purged_reject_files == 3)
        #expect(verified.files_checked == verifiedBefore.files_checked - 3)
        let cli = try runDropline(["verify", "--root", zone.root])
        #expect(cli.exitCode == 0)
        #expect(cli.stdout.contains("3 reject file(s) purged on purpose, not checked"))
    }
}

/// `retention.rejected_days` in dropline.yaml: every run removes reject folders older than that
/// (by the run date), as `rejects purge --apply` would, and verify still passes.
struct RejectRetentionTests {
    @Test func runsRemoveRejectFoldersPastRetention() throws {
        let zone = try TemporaryDropZone(settings: "format_version: 1\nretention:\n  rejected_days: 1\n")
        try zone.drop(TestPaths.samples + "/night-1/HR_WORKERS_HRIS01_20261127_001.xml")
        _ = try zone.run(asOf: "2026-11-26", at: "2026-11-26T01:00:00Z")
        let first = zone.files(in: "rejected/workers").filter { !$0.contains("/") }
        #expect(first.count == 1 && first[0].hasPrefix("20261126T"))
        _ = try zone.run(asOf: "2026-11-27", at: "2026-11-27T01:00:00Z")
        #expect(zone.files(in: "rejected/workers").filter { !$0.contains("/") } == first)  // one day old: kept
        _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:00:00Z")
        #expect(zone.files(in: "rejected").isEmpty)  // two days old: removed
        let verified = try ManifestVerifier(root: zone.root).verify()
        #expect(verified.problems.isEmpty, "\(verified.problems)")
        #expect(verified.purged_reject_files == 3)
    }
}

/// Reject export ids stay within the interfaces' 64 characters and do not stack suffixes.
struct RejectExportIDTests {
    @Test func derivedIDs() {
        #expect(RejectExportID.derive(base: "PSA-T-20261127-004", sequence: 1) == "PSA-T-20261127-004-R001")
        #expect(RejectExportID.base(of: "PSA-T-20261127-004-R001") == "PSA-T-20261127-004")
        #expect(RejectExportID.base(of: "PSA-T-20261127-004") == "PSA-T-20261127-004")
        #expect(RejectExportID.base(of: "X-R01") == "X-R01")
        let long = String(repeating: "A", count: 64)
        let derived = RejectExportID.derive(base: long, sequence: 7)
        #expect(derived.utf8.count == 64)
        #expect(derived.hasPrefix(String(repeating: "A", count: 50) + ".") && derived.hasSuffix("-R007"))
        #expect(derived.range(of: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", options: .regularExpression) != nil)
        #expect(RejectExportID.derive(base: long, sequence: 7) == derived)
        #expect(RejectExportID.derive(base: String(repeating: "A", count: 63) + "B", sequence: 7) != derived)
        #expect(RejectExportID.derive(base: String(repeating: "A", count: 59), sequence: 1).utf8.count == 64)
    }
}
