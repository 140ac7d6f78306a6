import DroplineCore
import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// Arrival, claim, lock and unsafe inbox entries.
struct DropZoneTests {
    /// A file moves to the archive only after its load and ledger entry committed; with WAL and
    /// synchronous NORMAL a power cut can roll such a commit back (SQLite keeps the database
    /// consistent, not the last transactions durable), leaving an archived file nobody loaded.
    /// Both databases therefore sync every commit (FULL, 2): measured at no cost, `bench/ab`.
    @Test func commitsAreDurableBeforeFilesMove() throws {
        let zone = try TemporaryDropZone()
        _ = try zone.run(asOf: "2026-11-28")
        let warehouse = try Warehouse.open(path: zone.root + "/warehouse.sqlite")
        #expect(try warehouse.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
        let ledger = try Ledger(path: zone.root + "/state/ledger.sqlite")
        #expect(try ledger.queue.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
    }

    /// Run ids begin with the second the run started, then four random hex digits; two runs in
    /// the same second (a script running one night after another, the demo) are told apart by
    /// the order they started in, not by their ids.
    @Test func statusNamesTheRunThatStartedLastInTheSameSecond() throws {
        let zone = try TemporaryDropZone()
        _ = try zone.run(asOf: "2026-11-28")
        let ledger = try Ledger(path: zone.root + "/state/ledger.sqlite")
        let second = Date().addingTimeInterval(3600)
        for (id, code) in [("20261130T095842Z-ffff", Int32(1)), ("20261130T095842Z-0000", Int32(0))] {
            try ledger.startRun(id: id, runDate: BusinessDate(iso: "2026-11-29")!, at: second, dryRun: false)
            try ledger.finishRun(id: id, exitCode: code, at: second)
        }
        let status = try ZoneStatus.read(root: zone.root)
        #expect(status.last_run_id == "20261130T095842Z-0000")
        #expect(status.last_run_exit_code == 0)
    }

    /// Two runs in the same second drew the same four hex digits once in 65,536 times; the
    /// second then failed on the ledger's primary key (in the test suite, whose runs often share
    /// a second, a flaky failure). A run draws again until its id is new to the zone.
    @Test func aRunNeverReusesTheIdOfAnEarlierRun() throws {
        let zone = try TemporaryDropZone()
        let instant = "2026-11-28T23:30:00Z"
        let ledger = try Ledger(path: zone.root + "/state/ledger.sqlite")
        try ledger.queue.write { db in
            for suffix in 0...Int(UInt16.max) where suffix != 0xbeef {
                try db.execute(sql: "INSERT INTO run (run_id, started_at, run_date, exit_code) VALUES (?, ?, '2026-11-28', 0)",
                               arguments: ["20261128T233000Z-" + String(format: "%04x", suffix), instant])
            }
        }
        let summary = try zone.run(asOf: "2026-11-28", at: instant)
        #expect(summary.run_id == "20261128T233000Z-beef")
        #expect(summary.exit_code == 0)
    }

    @Test func secondRunOnALockedZoneExits75AndTouchesNothing() throws {
        let zone = try TemporaryDropZone()
        try zone.drop(TestPaths.examples + "/inbound/ERP_RATES_ERP01_20261127_001.xml")
        #expect(RunLock.holder(zone: zone.zone) == nil)
        let lock = try RunLock(zone: zone.zone)
        let result = try runDropline(["run", "--root", zone.root, "--settle-seconds", "0"])
        #expect(result.exitCode == 75)
        // Who holds it, and since when: a run stuck for hours is told from one just started.
        #expect(result.stderr.contains("another dropline run holds the lock on \(zone.root) (pid \(getpid()), since 20"))
        #expect(FileManager.default.fileExists(atPath: zone.zone.inbox + "/ERP_RATES_ERP01_20261127_001.xml"))
        let status = try ZoneStatus.read(root: zone.root)
        #expect(status.running?.pid == getpid())
        withExtendedLifetime(lock) {}
    }

    /// The cron wrapper stays silent while another run holds the lock (the next run picks the
    /// files up), but speaks up when that run has held it for DROPLINE_STUCK_HOURS.
    @Test func cronWrapperReportsARunThatHoldsTheLockForHours() throws {
        let zone = try TemporaryDropZone()
        var lock: RunLock? = try RunLock(zone: zone.zone)
        let wrapper = TestPaths.repository + "/cron/dropline-nightly"
        let environment = ["DROPLINE_ROOT": zone.root, "DROPLINE_BIN": TestPaths.binary, "DROPLINE_STUCK_HOURS": "6"]
        let fresh = try runProcess("/bin/bash", [wrapper], environment: environment)
        #expect(fresh.exitCode == 75)
        #expect(fresh.stdout.isEmpty, "\(fresh.stdout)")
        // Taken seven hours ago.
        let past = Date().addingTimeInterval(-7 * 3600)
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: zone.zone.state + "/run.lock")
        let stuck = try runProcess("/bin/bash", [wrapper], environment: environment)
        #expect(stuck.exitCode == 75)
        #expect(stuck.stdout.contains("dropline: a run has held the zone's lock for 7 hours (pid \(getpid())); it may be stuck"), "\(stuck.stdout)")
        #expect(try ZoneStatus.read(root: zone.root).running?.since == ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: past.timeIntervalSince1970.rounded(.down))))
        #expect(lock != nil)
        lock = nil
        #expect(RunLock.holder(zone: zone.zone) == nil)
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

struct ReprocessAndStorageTests {
    @Test func reprocessBypassesDuplicateCheckRecordsLineageAndPostsNothingTwice() throws {
        let zone = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        let first = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        let archived = try #require(zone.files(in: "archive").first { $0.hasSuffix("PSA_TIMESHEETS_PSA01_20261127_001.xml") })
        let result = try runDropline(["reprocess", "archive/" + archived, "--root", zone.root, "--as-of", "2026-11-28", "--json"])
        #expect(result.exitCode == 1, "\(result.stderr)")  // TE-00000004 is rejected again
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let files = try #require(json["files"] as? [[String: Any]])
        #expect(files.count == 1)
        #expect(files.first?["outcome"] as? String == "loaded")
        // Five already posted, TS-0000003 not approved, TE-00000004 rejected again, TE-00000003 still held.
        #expect(files.first?["records"] as? [String: Int] == ["loaded": 0, "skipped": 6, "rejected": 1, "held": 1])
        #expect((json["outputs"] as? [Any])?.isEmpty == true)
        let history = try runDropline(["history", "--root", zone.root, "--json", "--limit", "1"])
        #expect(history.stdout.contains("\"reprocessOf\" : \"archive/\(archived)\""))
        // The original stays in the archive, untouched; the copy is archived beside it.
        #expect(zone.files(in: "archive").filter { $0.contains("PSA_TIMESHEETS_PSA01_20261127_001.xml") }.count == 2)
        #expect(first.files.count == 5)
        #expect(try runDropline(["reprocess", "nosuchrun", "--root", zone.root]).exitCode == 66)
    }

    /// A write limit (RLIMIT_FSIZE, with SIGXFSZ ignored) stands in for a full disk: the run stops
    /// with exit 74, nothing half-written stands under a final name, and a rerun completes.
    @Test func fullDiskStopsWithExit74AndARerunCompletes() throws {
        let zone = try TemporaryDropZone()
        for name in MasterDataTests.night1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        try SampleDrop.timesheets().write(toFile: zone.zone.inbox + "/PSA_TIMESHEETS_PSA01_20261127_001.xml", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "trap '' XFSZ; ulimit -f 400; exec \"$0\" run --root \"$1\" --settle-seconds 0 --as-of 2026-11-28", TestPaths.binary, zone.root]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 74, "\(message)")
        #expect(message.contains("I/O") || message.contains("storage failed"), "\(message)")
        #expect(zone.files(in: "outbound").allSatisfy { !$0.hasSuffix(".tmp") })
        let rerun = try zone.run(asOf: "2026-11-28")
        #expect(rerun.files.contains { $0.pipeline == "time_entries" && $0.outcome == "loaded" })
        #expect(zone.files(in: "inbox").isEmpty)
        #expect(zone.files(in: "work").isEmpty)
        #expect(zone.files(in: "outbound/erp").contains("ERP_LABOR_1000_20261128_001.xml"))
    }

    /// A file whose place in quarantine or in the archive cannot be made (here a plain file
    /// stands where the pipeline's folder goes) stops the run and stays in `work/`; once the
    /// folder can be made, the next run puts it there. Before, the run went on, the failed move
    /// was only logged, and the end of the run deleted the work folder with the file in it.
    @Test func aFileThatCannotBeMovedIsKeptForTheNextRun() throws {
        let zone = try TemporaryDropZone()
        /// Drops `source` with a plain file where `folder` goes: the run stops with the file in
        /// work/; with the folder free again, the next run's summary.
        func blocked(_ folder: String, drop source: String) throws -> RunSummary {
            let name = (source as NSString).lastPathComponent
            try zone.drop(source)
            try DropZone.makePrivateFolder(zone.root + "/" + (folder as NSString).deletingLastPathComponent)
            try Data().write(to: URL(fileURLWithPath: zone.root + "/" + folder))
            #expect(throws: RunError.self) { try zone.run(asOf: "2026-11-28") }
            #expect(zone.files(in: "work").contains { $0.hasSuffix("/" + name) }, "\(name)")
            try FileManager.default.removeItem(atPath: zone.root + "/" + folder)
            return try zone.run(asOf: "2026-11-28")
        }
        let broken = "ERP_RATES_ERP01_20261127_002.xml"
        let first = try blocked("quarantine/rates", drop: TestPaths.samples + "/night-1/" + broken)
        #expect(first.files.first { $0.name == broken }?.outcome == "quarantined")
        #expect(zone.files(in: "quarantine/rates").sorted() == [broken, broken + ".error.json"])
        // Loaded, then the archive folder cannot be made: the load stays committed, the file waits.
        let good = "ERP_RATES_ERP01_20261127_001.xml"
        _ = try blocked("archive/rates", drop: TestPaths.examples + "/inbound/" + good)
        #expect(zone.files(in: "archive/rates").contains { $0.hasSuffix("/" + good) })
        #expect(zone.files(in: "work").isEmpty)
        let ledger = try DatabaseQueue(path: zone.root + "/state/ledger.sqlite")
        #expect(try ledger.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM processed_file WHERE name = ? AND outcome = 'loaded'", arguments: [good]) } == 1)
        // Loaded with a rejected record, and the rejects folder cannot be made: the records file
        // waits in work/ with the input, and the next run puts both in place.
        let withReject = "ERP_RATES_ERP01_20261127_003.xml"
        let source = NSTemporaryDirectory() + withReject
        try String(contentsOfFile: TestPaths.samples + "/night-1/ERP_RATES_ERP01_20261127_001.xml", encoding: .utf8)
            .replacingOccurrences(of: "exportId=\"ERP-R-20261127-001\"", with: "exportId=\"ERP-R-20261127-003\"").write(toFile: source, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: source) }
        _ = try blocked("rejected/rates", drop: source)
        #expect(zone.files(in: "rejected/rates").contains { $0.hasSuffix("/" + withReject + ".rejects.jsonl") })
        #expect(zone.files(in: "archive/rates").contains { $0.hasSuffix("/" + withReject) })
        #expect(zone.files(in: "work").isEmpty)
    }
}

/// A file the run may not read (permission denied) is quarantined unreadable_file and the rest
/// loads. As root, the run is started as `nobody` so that permissions apply.
/// A loaded file's last steps (reject files put in place, ledger entry, archive) are run after
/// its commit; the last file's while its pipeline's outbound files and utilization are written.
struct FileCompletionTests {
    /// Two timesheet exports with rejected records in one run: each is complete before the run
    /// ends, the first before the second is loaded (its reject files and ledger entry are there
    /// for the second's), and the reject folder's README counts both.
    @Test func everyLoadedFileOfARunIsCompleted() throws {
        let zone = try TemporaryDropZone()
        let night1 = TestPaths.samples + "/night-1"
        for name in try FileManager.default.contentsOfDirectory(atPath: night1) where name.hasSuffix(".xml") {
            try zone.drop(night1 + "/" + name)
        }
        // The same timesheets again under other ids: the same records rejected.
        let second = "PSA_TIMESHEETS_PSA01_20261127_002.xml"
        let again = try String(contentsOfFile: night1 + "/PSA_TIMESHEETS_PSA01_20261127_001.xml", encoding: .utf8)
            .replacingOccurrences(of: "exportId=\"PSA-T-20261127-001\"", with: "exportId=\"PSA-T-20261127-002\"")
            .replacingOccurrences(of: "id=\"TE-0000", with: "id=\"TE-0009").replacingOccurrences(of: "id=\"TS-000", with: "id=\"TS-900")
        try zone.drop(data: Data(again.utf8), as: second)
        let summary = try zone.run(asOf: "2026-11-28")
        let sheets = summary.files.filter { $0.pipeline == "time_entries" }
        #expect(sheets.map(\.name) == ["PSA_TIMESHEETS_PSA01_20261127_001.xml", second])
        #expect(sheets.allSatisfy { $0.outcome == "loaded" && ($0.records["rejected"] ?? 0) > 0 }, "\(sheets)")
        #expect(zone.files(in: "work").isEmpty, "\(zone.files(in: "work"))")
        let ledger = try DatabaseQueue(path: zone.root + "/state/ledger.sqlite")
        let rejected = zone.files(in: "rejected/time_entries")
        for sheet in sheets {
            #expect(zone.files(in: "archive/time_entries").contains { $0.hasSuffix("/" + sheet.name) }, "\(sheet.name)")
            #expect(try ledger.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM processed_file WHERE name = ? AND outcome = 'loaded'", arguments: [sheet.name]) } == 1)
            #expect(rejected.contains { $0.hasSuffix("/" + sheet.name) } && rejected.contains { $0.hasSuffix("/" + sheet.name + ".rejects.jsonl") }, "\(rejected)")
        }
        let readme = try #require(rejected.first { $0.hasSuffix("/README.txt") })
        let text = try String(contentsOfFile: zone.root + "/rejected/time_entries/" + readme, encoding: .utf8)
        #expect(sheets.allSatisfy { text.contains($0.name) }, "\(text)")
    }
}

struct UnreadableFileTests {
    @Test func unreadableFileIsQuarantined() throws {
        let zone = try TemporaryDropZone()
        let secret = try zone.drop(TestPaths.examples + "/inbound/ERP_RATES_ERP01_20261127_001.xml")
        try zone.drop(TestPaths.examples + "/inbound/ERP_PERIODS_ERP01_20261127_001.xml")
        var command = [TestPaths.binary, "run", "--root", zone.root, "--settle-seconds", "0", "--json"]
        if getuid() == 0 {
            let chown = Process()
            chown.executableURL = URL(fileURLWithPath: "/bin/chown")
            chown.arguments = ["-R", "65534:65534", zone.root]
            try chown.run()
            chown.waitUntilExit()
            chown_(secret, 0, 0)  // the file stays root's, unreadable for nobody
            // A copy of the binary nobody can run, wherever the checkout lives.
            let copy = zone.root + "/dropline-bin"
            try FileManager.default.copyItem(atPath: TestPaths.binary, toPath: copy)
            chmod(copy, 0o755)
            command[0] = copy
            command = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + command
        }
        chmod(secret, 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let files = try #require(json["files"] as? [[String: Any]])
        let rates = try #require(files.first { $0["name"] as? String == "ERP_RATES_ERP01_20261127_001.xml" })
        #expect(rates["outcome"] as? String == "quarantined")
        #expect(rates["reason"] as? String == "unreadable_file")
        #expect(files.first { $0["name"] as? String == "ERP_PERIODS_ERP01_20261127_001.xml" }?["outcome"] as? String == "loaded")
        #expect(p.terminationStatus == 1)
    }
}

private func chown_(_ path: String, _ uid: uid_t, _ gid: gid_t) { _ = chown(path, uid, gid) }
