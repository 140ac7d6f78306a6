import DroplineCore
@testable import DroplineRuntime
import DroplineTesting
import Foundation
import Testing

/// A reject folder's README is rewritten whenever the folder gains a file. It reads each reject
/// file once per run, not every file again each time (which made a night of many files
/// quadratic), and says what a fresh reading of the folder says.
struct RejectReadmeTests {
    func line(_ key: String, _ reason: String) -> String {
        "{\"issues\":[],\"key\":\"\(key)\",\"line\":1,\"primary_reason\":\"\(reason)\",\"record_type\":\"entry\"}\n"
    }

    @Test func eachRejectFileIsReadOncePerRunAndTheReadmeMatchesAFreshOne() throws {
        let root = NSTemporaryDirectory() + "dropline-readme-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folder = root + "/rejected/time_entries/20261128T233000Z-0001"
        try DropZone.makePrivateFolder(folder)
        let readmes = RejectReadme()
        let reasons = ["no_rate", "day_over_24", "invalid_hours", "no_rate"]
        for (i, reason) in reasons.enumerated() {
            let name = "PSA_TIMESHEETS_PSA01_20261127_00\(i + 1).xml"
            try (line("TE-0000000\(i)", reason) + line("TE-1000000\(i)", "unknown_project")).write(toFile: folder + "/" + name + ".rejects.jsonl", atomically: true, encoding: .utf8)
            // Every file but the third has its XML copy.
            if i != 2 { try "<x/>".write(toFile: folder + "/" + name, atomically: true, encoding: .utf8) }
            try readmes.write(folder: folder, pipeline: "time_entries", runID: "20261128T233000Z-0001", runDate: BusinessDate(iso: "2026-11-28")!, zoneRoot: root)
        }
        #expect(readmes.filesRead == reasons.count)
        let written = try String(contentsOfFile: folder + "/README.txt", encoding: .utf8)
        let fresh = RejectReadme()
        try fresh.write(folder: folder, pipeline: "time_entries", runID: "20261128T233000Z-0001", runDate: BusinessDate(iso: "2026-11-28")!, zoneRoot: root)
        #expect(fresh.filesRead == reasons.count)
        #expect(try String(contentsOfFile: folder + "/README.txt", encoding: .utf8) == written)
        #expect(written.contains("  4 x unknown_project: "))
        #expect(written.contains("  2 x no_rate: "))
        #expect(written.contains("  PSA_TIMESHEETS_PSA01_20261127_003.xml: 2 records rejected (no XML copy; see the .rejects.jsonl)\n"))
        #expect(written.contains("  PSA_TIMESHEETS_PSA01_20261127_004.xml: 2 records rejected\n"))
        // The XML copy placed later is seen at the next rewrite.
        try "<x/>".write(toFile: folder + "/PSA_TIMESHEETS_PSA01_20261127_003.xml", atomically: true, encoding: .utf8)
        try readmes.write(folder: folder, pipeline: "time_entries", runID: "20261128T233000Z-0001", runDate: BusinessDate(iso: "2026-11-28")!, zoneRoot: root)
        #expect(try String(contentsOfFile: folder + "/README.txt", encoding: .utf8).contains("  PSA_TIMESHEETS_PSA01_20261127_003.xml: 2 records rejected\n"))
        #expect(readmes.filesRead == reasons.count)
    }

    /// A run writes the README from what its reject writer wrote, not reading the file back:
    /// the same README a fresh reading of the folder writes (run one of the worked example,
    /// with rejected entries of several reasons).
    @Test func aRunsReadmeIsWhatAFreshReadingWrites() throws {
        let zone = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        let readme = try #require(zone.files(in: "rejected").first { $0.hasPrefix("time_entries/") && $0.hasSuffix("/README.txt") })
        let folder = zone.root + "/rejected/" + String(readme.dropLast("/README.txt".count))
        let written = try String(contentsOfFile: zone.root + "/rejected/" + readme, encoding: .utf8)
        #expect(written.contains(" x "))
        let fresh = RejectReadme()
        try fresh.write(folder: folder, pipeline: "time_entries", runID: (folder as NSString).lastPathComponent, runDate: BusinessDate(iso: "2026-11-28")!, zoneRoot: zone.root)
        #expect(fresh.filesRead == 1)
        #expect(try String(contentsOfFile: folder + "/README.txt", encoding: .utf8) == written)
    }
}
