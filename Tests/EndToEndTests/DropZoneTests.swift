import DroplineCore
import DroplineRuntime
import DroplineTesting
import Foundation
import Testing

/// Arrival, claim, lock and unsafe inbox entries.
struct DropZoneTests {
    @Test func secondRunOnALockedZoneExits75AndTouchesNothing() throws {
        let zone = try TemporaryDropZone()
        try zone.drop(TestPaths.examples + "/inbound/ERP_RATES_ERP01_20261127_001.xml")
        let lock = try RunLock(zone: zone.zone)
        let result = try runDropline(["run", "--root", zone.root, "--settle-seconds", "0"])
        #expect(result.exitCode == 75)
        #expect(result.stderr.contains("another dropline run holds the lock"))
        #expect(FileManager.default.fileExists(atPath: zone.zone.inbox + "/ERP_RATES_ERP01_20261127_001.xml"))
        withExtendedLifetime(lock) {}
    }

    @Test func twoConcurrentRunsProcessEachFileOnce() throws {
        let zone = try TemporaryDropZone()
        for name in MasterDataTests.night1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        try SampleDrop.timesheets().write(toFile: zone.zone.inbox + "/PSA_TIMESHEETS_PSA01_20261127_001.xml", atomically: true, encoding: .utf8)
        let args = ["run", "--root", zone.root, "--settle-seconds", "0", "--as-of", "2026-11-28", "--json"]
        let a = Process(), b = Process()
        for p in [a, b] {
            p.executableURL = URL(fileURLWithPath: TestPaths.binary)
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
        }
        a.waitUntilExit()
        b.waitUntilExit()
        let codes = [a.terminationStatus, b.terminationStatus].sorted()
        // One ran (0 or 1 for rejects), the other found the lock (75), or ran after it on an empty inbox (0).
        #expect(codes.contains(75) || codes.contains(0), "\(codes)")
        #expect(zone.files(in: "archive").filter { $0.hasSuffix(".xml") }.count == 5)
        #expect(zone.files(in: "outbound/erp").filter { $0.hasPrefix("ERP_LABOR_") && $0.hasSuffix(".xml") } == ["ERP_LABOR_1000_20261128_001.xml"])
    }

    @Test func deadRunsLockIsRecoveredWithALogLine() throws {
        let zone = try TemporaryDropZone()
        try "424242\n".write(toFile: zone.zone.state + "/run.lock", atomically: false, encoding: .utf8)
        let summary = try zone.run(asOf: "2026-11-28")
        #expect(summary.exit_code == 0)
        let log = try String(contentsOfFile: zone.zone.logs + "/dropline.jsonl", encoding: .utf8)
        #expect(log.contains("Recovered the zone lock of a run that died"))
        #expect(log.contains("\"dead_pid\":\"424242\""))
    }

    @Test func unsafeAndIgnoredInboxEntries() throws {
        let zone = try TemporaryDropZone()
        let inbox = zone.zone.inbox
        try Data().write(to: URL(fileURLWithPath: inbox + "/ERP_RATES_ERP01_20261127_009.xml"))
        try FileManager.default.createSymbolicLink(atPath: inbox + "/ERP_RATES_ERP01_20261127_010.xml", withDestinationPath: "/etc/passwd")
        try FileManager.default.createDirectory(atPath: inbox + "/ERP_RATES_ERP01_20261127_011.xml", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: inbox + "/ERP_RATES_bad\nname.xml"))
        for ignored in [".hidden.xml", "ERP_RATES_ERP01_20261127_012.xml.tmp", "ERP_RATES_ERP01_20261127_013.xml.part", "ORPHAN.xml.done"] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: inbox + "/" + ignored))
        }
        let summary = try zone.run(asOf: "2026-11-28")
        let reasons = Dictionary(uniqueKeysWithValues: summary.files.map { ($0.name, $0.reason ?? "") })
        #expect(reasons["ERP_RATES_ERP01_20261127_009.xml"] == "empty_file")
        #expect(reasons["ERP_RATES_ERP01_20261127_010.xml"] == "unsafe_name")
        #expect(reasons["ERP_RATES_ERP01_20261127_011.xml"] == "unsafe_name")
        #expect(reasons["ERP_RATES_bad\nname.xml"] == "unsafe_name")
        #expect(summary.files.count == 4)
        // The link was moved, never followed; /etc/passwd is untouched.
        #expect(FileManager.default.fileExists(atPath: "/etc/passwd"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: zone.root + "/quarantine/rates/ERP_RATES_ERP01_20261127_010.xml") == "/etc/passwd")
        for ignored in [".hidden.xml", "ERP_RATES_ERP01_20261127_012.xml.tmp", "ERP_RATES_ERP01_20261127_013.xml.part", "ORPHAN.xml.done"] {
            #expect(FileManager.default.fileExists(atPath: inbox + "/" + ignored))
        }
    }

    @Test func fileWithoutMarkerWaitsForItsSettleTime() throws {
        let zone = try TemporaryDropZone()
        try zone.drop(TestPaths.examples + "/inbound/ERP_RATES_ERP01_20261127_001.xml", marker: false)
        var request = RunRequest(root: zone.root)
        request.settleSeconds = 3600
        let waiting = try PipelineRunner(request: request).run()
        #expect(waiting.files.isEmpty)
        #expect(waiting.waiting == ["ERP_RATES_ERP01_20261127_001.xml"])
        // With its marker it is taken at once, and the marker leaves with it.
        _ = FileManager.default.createFile(atPath: zone.zone.inbox + "/ERP_RATES_ERP01_20261127_001.xml.done", contents: Data())
        let taken = try PipelineRunner(request: request).run()
        #expect(taken.files.first?.outcome == "loaded")
        #expect(zone.files(in: "inbox").isEmpty)
    }
}
