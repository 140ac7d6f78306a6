import DroplineCore
import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// A real `dropline run` killed with SIGKILL at many instants, then run again, leaves warehouse,
/// ledger, outbound folder, archive and quarantine exactly as one clean run does.
@Suite(.serialized)
struct CrashSafetyTests {
    static let killPoints = 30

    /// A new zone with the sample nights dropped into its inbox in turn, each run as of its date
    /// (both sample nights end with exit 1) or, without a date, left in the inbox.
    static func sampleZone(_ nights: [(night: String, asOf: String?)]) throws -> String {
        let root = NSTemporaryDirectory() + "dropline-crash-" + UUID().uuidString
        #expect(try runDropline(["init", root]).exitCode == 0)
        for (night, asOf) in nights {
            for name in try FileManager.default.contentsOfDirectory(atPath: TestPaths.samples + "/" + night) where name.hasSuffix(".xml") || name.hasSuffix(".done") {
                try FileManager.default.copyItem(atPath: TestPaths.samples + "/" + night + "/" + name, toPath: root + "/inbox/" + name)
            }
            if let asOf { #expect(try runDropline(["run", "--root", root, "--settle-seconds", "0", "--as-of", asOf]).exitCode == 1) }
        }
        return root
    }

    /// The first sample night run, then its timesheet reject file resubmitted (unchanged) into
    /// the inbox.
    static func resubmittedZone() throws -> String {
        let root = try sampleZone([("night-1", "2026-11-28")])
        let rejected = ((FileManager.default.enumerator(atPath: root + "/rejected")?.allObjects as? [String]) ?? []).first { $0.hasSuffix("/PSA_TIMESHEETS_PSA01_20261127_001.xml") }
        #expect(try runDropline(["rejects", "resubmit", "rejected/" + (rejected ?? "-"), "--root", root]).exitCode == 0)
        return root
    }

    /// A zone with samples/night-1 and a generated year of timesheets in the inbox.
    func seededZone() throws -> String {
        let root = try Self.sampleZone([("night-1", nil)])
        try SampleDrop.timesheets().write(toFile: root + "/inbox/PSA_TIMESHEETS_PSA01_20261127_001.xml", atomically: true, encoding: .utf8)
        return root
    }

    static let runArguments = ["--settle-seconds", "0", "--as-of", "2026-11-28"]

    /// Everything a run leaves behind that must not depend on crashes: table rows (without run
    /// ids and timestamps), ledger outcomes, every file under outbound/, archive/, quarantine/
    /// (XML createdAt, which is the wall clock, normalised), rejected/ (run ids and the zone's
    /// root normalised: a run that died leaves its files in its own run's folder), and the inbox
    /// and work/ being empty.
    func state(_ root: String) throws -> [String] {
        var out: [String] = []
        let volatile: Set<String> = ["_run_id", "run_id", "held_since_run", "created_at", "processed_at", "id", "sha256_of_manifest"]
        // Postings and evaluations are compared through their views, which give each row's
        // export id (and run id, volatile) instead of a reference to the pair in run_export.
        let seenThroughViews: Set<String> = ["posting_row", "time_entry_evaluation_row", "run_export"]
        let warehouse = try DatabaseQueue(path: root + "/warehouse.sqlite")
        try warehouse.read { db in
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations' ORDER BY name") where !seenThroughViews.contains(table) {
                // An outbound file's hash covers its createdAt (the wall clock); its content is compared below.
                let cols = try db.columns(in: table).map(\.name).filter { !volatile.contains($0) && !(table == "outbound_file" && $0 == "sha256") }
                let rows = try String.fetchAll(db, sql: "SELECT \(cols.map { "COALESCE(quote(\"\($0)\"), 'NULL')" }.joined(separator: " || '|' || ")) FROM \"\(table)\"")
                out += rows.sorted().map { "\(table): \($0)" }
            }
        }
        let ledger = try DatabaseQueue(path: root + "/state/ledger.sqlite")
        out += try ledger.read { db in
            try String.fetchAll(db, sql: "SELECT pipeline || '|' || name || '|' || sha256 || '|' || outcome || '|' || COALESCE(reason, '') || '|' || loaded || '|' || rejected || '|' || held || '|' || skipped || '|' || COALESCE(reasons, '') || '|' || COALESCE(reprocess_of, '') || '|' || COALESCE(resubmission_of, '') || '|' || COALESCE(location, '') FROM processed_file").map { line in
                // A resubmission's lineage names the run that rejected the records.
                "ledger: " + CrashAfterCommitTests.runID.stringByReplacingMatches(in: line, range: NSRange(line.startIndex..., in: line), withTemplate: "RUN")
            }.sorted()
        }
        let createdAt = try NSRegularExpression(pattern: "createdAt=\"[^\"]*\"")
        for (path, text) in try CrashAfterCommitTests.rejected(root).sorted(by: { $0.key < $1.key }) { out.append("rejected/\(path): \(SHA256Text.hex(text))") }
        for folder in ["outbound", "archive", "quarantine", "inbox", "work"] {
            let base = root + "/" + folder
            for rel in ((FileManager.default.enumerator(atPath: base)?.allObjects as? [String]) ?? []).sorted() {
                var isDir: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: base + "/" + rel, isDirectory: &isDir)
                if isDir.boolValue { continue }
                var text = (try? String(contentsOfFile: base + "/" + rel, encoding: .utf8)) ?? "<binary>"
                if rel.hasSuffix(".sha256") {
                    // Depends on createdAt; check it matches its file instead.
                    let file = String(rel.dropLast(".sha256".count))
                    let data = try Data(contentsOf: URL(fileURLWithPath: base + "/" + file))
                    text = text.hasPrefix(SHA256Text.hex(data)) ? "consistent" : "MISMATCH"
                } else if folder == "quarantine" && rel.hasSuffix(".error.json") {
                    text = text.split(separator: "\n").filter { !$0.contains("\"run_id\"") }.joined(separator: "\n")
                } else {
                    text = createdAt.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "createdAt=\"-\"")
                }
                out.append("\(folder)/\(rel): \(SHA256Text.hex(text))")
            }
        }
        return out
    }

    @Test func killedRunsConvergeToTheCleanRun() throws {
        try killAndCompare(points: Self.killPoints, seed: seededZone, arguments: Self.runArguments) { expected in
            #expect(expected.contains { $0.hasPrefix("outbound/erp/ERP_LABOR_1000_20261128_001.xml:") })
            #expect(expected.contains { $0.hasPrefix("ledger: time_entries|PSA_TIMESHEETS_PSA01_20261127_001.xml|") })
        }
    }

    /// The second night on top of a clean first one: held entries re-evaluated (one posts, one
    /// stays held), worker changes, project acknowledgements, corrections and a second labor
    /// file, killed at 20 points.
    @Test func killedSecondNightsConvergeToTheCleanRun() throws {
        try killAndCompare(points: 20, seed: { try Self.sampleZone([("night-1", "2026-11-28"), ("night-2", nil)]) }, arguments: ["--settle-seconds", "0", "--as-of", "2026-11-29"]) { expected in
            #expect(expected.contains { $0.hasPrefix("outbound/erp/ERP_LABOR_1000_20261129_001.xml:") })
            #expect(expected.contains { $0.hasPrefix("ledger: time_entries|PSA_TIMESHEETS_PSA01_20261128_001.xml|") })
        }
    }

    /// A night with no file at all, after both sample nights: the held entry left expires into a
    /// reject (its reject files, the pending row, recovery), killed at 15 points.
    @Test func killedHoldExpiriesConvergeToTheCleanRun() throws {
        try killAndCompare(points: 15, seed: { try Self.sampleZone([("night-1", "2026-11-28"), ("night-2", "2026-11-29")]) }, arguments: ["--settle-seconds", "0", "--as-of", "2026-12-15"]) { expected in
            #expect(expected.contains { $0.hasPrefix("rejected/time_entries/run-of-2026-12-15/PSA_TIMESHEETS_HELD_20261215_001.xml:") })
            #expect(expected.contains { $0.hasPrefix("rejected/time_entries/run-of-2026-12-15/PSA_TIMESHEETS_HELD_20261215_001.xml.rejects.jsonl:") })
        }
    }

    /// A night whose only file is a resubmitted reject file (lineage to the first night's
    /// timesheet export), killed at 10 points.
    @Test func killedResubmissionsConvergeToTheCleanRun() throws {
        try killAndCompare(points: 10, seed: Self.resubmittedZone, arguments: ["--settle-seconds", "0", "--as-of", "2026-11-29"]) { expected in
            #expect(expected.contains { $0.hasPrefix("ledger: time_entries|PSA_TIMESHEETS_PSA01_20261127_002.xml|") && $0.contains("|rejected/time_entries/") })
        }
    }

    /// `dropline reprocess` of the year's timesheets killed at 12 points, then a plain run: the
    /// zone ends as if the reprocessing never started (its copy discarded) or as if it finished
    /// (recovery completes it), never anything else.
    @Test func killedReprocessingEndsBeforeOrAfterIt() throws {
        let archived = "archive/time_entries/2026/11/28/PSA_TIMESHEETS_PSA01_20261127_001.xml"
        func afterNightOne() throws -> String {
            let root = try seededZone()
            #expect(try runDropline(["run", "--root", root] + Self.runArguments).exitCode == 1)
            return root
        }
        func reprocess(_ root: String) -> [String] { ["reprocess", archived, "--root", root, "--as-of", "2026-11-29"] }
        func next(_ root: String) throws { _ = try runDropline(["run", "--root", root, "--settle-seconds", "0", "--as-of", "2026-11-29"]) }
        let before = try afterNightOne(), after = try afterNightOne()
        defer { for root in [before, after] { try? FileManager.default.removeItem(atPath: root) } }
        try next(before)
        let started = Date()
        #expect([0, 1].contains(try runDropline(reprocess(after)).exitCode))
        var scale = Date().timeIntervalSince(started)
        try next(after)
        // A reprocessing run re-evaluates held entries first, in a unit of its own: killed after
        // that unit, the zone holds one more "still held" evaluation per held entry (audit rows
        // of an evaluation that did happen). Those rows are left out of the comparison.
        func state(_ root: String) throws -> [String] {
            try self.state(root).filter { !($0.hasPrefix("time_entry_evaluation: ") && $0.contains("|'held'|")) }
        }
        let untouched = try state(before), reprocessed = try state(after)
        #expect(untouched != reprocessed)
        #expect(reprocessed.contains { $0.hasPrefix("ledger: time_entries|PSA_TIMESHEETS_PSA01_20261127_001.xml|") && $0.contains("|archive/time_entries/2026/11/29/") })

        var hits = 0, attempts = 0, completed = 0
        while hits < 12 && attempts < 48 {
            attempts += 1
            let root = try afterNightOne()
            defer { try? FileManager.default.removeItem(atPath: root) }
            let delay = scale * Double(hits + 1) / 13
            if try Self.kill(reprocess(root), after: delay) { hits += 1 } else { scale *= 0.85 }
            try next(root)
            let got = try state(root)
            if got == reprocessed { completed += 1 }
            #expect(got == untouched || got == reprocessed, "attempt \(attempts) after \(Int(delay * 1000)) ms: against the untouched zone, missing \(untouched.filter { !got.contains($0) }.prefix(4)), extra \(got.filter { !untouched.contains($0) }.prefix(4)); against the reprocessed one, missing \(reprocessed.filter { !got.contains($0) }.prefix(4)), extra \(got.filter { !reprocessed.contains($0) }.prefix(4))")
            try CrashAfterCommitTests.expectManifestsListEachFileOnce(root)
        }
        #expect(hits == 12, "only \(hits) of \(attempts) attempts killed a running process")
        // The first kills come long before the load's commit: they must have been discarded.
        #expect(completed < hits)
    }

    /// Starts `dropline` with the arguments and sends it SIGKILL after `delay` seconds; whether
    /// it was still running then (a kill after it ended proves nothing).
    static func kill(_ arguments: [String], after delay: Double) throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestPaths.binary)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(useconds_t(delay * 1_000_000))
        let running = p.isRunning
        if running { Foundation.kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return running
    }

    /// Runs `dropline run` once on a seeded zone for the expected state, then on fresh seeded
    /// zones kills it at `points` instants spread over its duration and runs it again.
    func killAndCompare(points: Int, seed: () throws -> String, arguments: [String], expect: ([String]) -> Void) throws {
        let clean = try seed()
        defer { try? FileManager.default.removeItem(atPath: clean) }
        let started = Date()
        let first = try runDropline(["run", "--root", clean] + arguments)
        let duration = Date().timeIntervalSince(started)
        #expect([0, 1].contains(first.exitCode))
        let expected = try state(clean)
        expect(expected)

        // Kill points spread over the run. A kill that comes after the run already ended proves
        // nothing, so the time scale adapts (other tests share the machine) until every kill has
        // hit a running process; every attempt, hit or not, must end equal to the clean run.
        var scale = duration
        var hits = 0, attempts = 0
        while hits < points && attempts < points * 4 {
            attempts += 1
            let root = try seed()
            defer { try? FileManager.default.removeItem(atPath: root) }
            let delay = scale * Double(hits + 1) / Double(points + 1)
            if try Self.kill(["run", "--root", root] + arguments, after: delay) { hits += 1 } else { scale *= 0.85 }
            let rerun = try runDropline(["run", "--root", root] + arguments)
            #expect([0, 1].contains(rerun.exitCode), "attempt \(attempts): \(rerun.stderr)")
            let got = try state(root)
            let missing = expected.filter { !got.contains($0) }, extra = got.filter { !expected.contains($0) }
            #expect(missing.isEmpty && extra.isEmpty, "attempt \(attempts) after \(Int(delay * 1000)) ms: missing \(missing.prefix(5)), extra \(extra.prefix(5))")
            try CrashAfterCommitTests.expectManifestsListEachFileOnce(root)
        }
        #expect(hits == points, "only \(hits) of \(attempts) attempts killed a running process")
    }
}

/// A run that dies just after a commit, before the files that go with it are in place (the
/// instants a random kill rarely hits, reached with `DROPLINE_FAILPOINT`): the next run puts
/// every reject file where a clean run puts it, the same bytes, recorded in the ledger, and
/// verify passes.
@Suite(.serialized)
struct CrashAfterCommitTests {
    static let runID = try! NSRegularExpression(pattern: "[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}")
    static let volatile = [(runID, "RUN"), (try! NSRegularExpression(pattern: "generatedAt=\"[^\"]*\""), "generatedAt=\"-\""),
                           (try! NSRegularExpression(pattern: "\"HELD-([0-9]{8})-[0-9a-f]{4}\""), "\"HELD-$1-RUN\"")]

    /// Every file under rejected/ with its content: a run's folder named by the run's date (the
    /// ledger's), run ids in the text and the zone's root written alike. Files that land on one
    /// name (two runs of a date) are kept together, in order, so nothing depends on the order
    /// folders are listed in.
    static func rejected(_ root: String) throws -> [String: String] {
        let runDates = try DatabaseQueue(path: root + "/state/ledger.sqlite").read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT run_id, run_date FROM run").map { ($0["run_id"] as String, $0["run_date"] as String) })
        }
        var found: [String: [String]] = [:]
        for rel in (FileManager.default.enumerator(atPath: root + "/rejected")?.allObjects as? [String]) ?? [] {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/rejected/" + rel, isDirectory: &isDir), !isDir.boolValue else { continue }
            // Bytes as UTF-8 (the workers' ISO-8859-1 letters alike in both), then normalised.
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: root + "/rejected/" + rel)), as: UTF8.self).replacingOccurrences(of: root, with: "ROOT")
            var parts = rel.split(separator: "/").map(String.init)
            if parts.count == 3 { parts[1] = "run-of-" + (runDates[parts[1]] ?? "?") }
            // A held entries' reject file carries the wall clock and its run's id suffix.
            var normal = text
            for (pattern, template) in Self.volatile {
                normal = pattern.stringByReplacingMatches(in: normal, range: NSRange(normal.startIndex..., in: normal), withTemplate: template)
            }
            found[parts.joined(separator: "/"), default: []].append(normal)
        }
        return found.mapValues { $0.sorted().joined(separator: "\n--\n") }
    }

    /// Every file under rejected/ listed by exactly one manifest, and nothing else listed there;
    /// every file taken listed as an input once.
    static func expectManifestsListEachFileOnce(_ root: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var listed: [String] = []
        for rel in (FileManager.default.enumerator(atPath: root + "/manifests")?.allObjects as? [String]) ?? [] where rel.hasSuffix(".json") {
            listed += try RunManifest.read(Data(contentsOf: URL(fileURLWithPath: root + "/manifests/" + rel))).rejects.map(\.path)
        }
        let files = ((FileManager.default.enumerator(atPath: root + "/rejected")?.allObjects as? [String]) ?? []).filter { rel in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/rejected/" + rel, isDirectory: &isDir) && !isDir.boolValue
        }
        #expect(listed.sorted() == files.map { "rejected/" + $0 }.sorted(), sourceLocation: sourceLocation)
        // And every file the ledger says a run took is an input of exactly one manifest.
        var inputs: [String] = []
        for rel in (FileManager.default.enumerator(atPath: root + "/manifests")?.allObjects as? [String]) ?? [] where rel.hasSuffix(".json") {
            let m = try RunManifest.read(Data(contentsOf: URL(fileURLWithPath: root + "/manifests/" + rel)))
            inputs += m.inputs.map { "\(m.pipeline.name)|\($0.name)|\($0.sha256)|\($0.outcome)" }
        }
        let taken = try DatabaseQueue(path: root + "/state/ledger.sqlite").read { db in
            try String.fetchAll(db, sql: "SELECT pipeline || '|' || name || '|' || sha256 || '|' || outcome FROM processed_file")
        }
        #expect(inputs.sorted() == taken.sorted(), sourceLocation: sourceLocation)
    }

    /// The ledger's file entries without run ids, times and sequence numbers.
    func fileLedger(_ root: String) throws -> [String] {
        try DatabaseQueue(path: root + "/state/ledger.sqlite").read { db in
            try String.fetchAll(db, sql: "SELECT pipeline || '|' || name || '|' || outcome || '|' || loaded || '|' || rejected || '|' || held || '|' || skipped || '|' || COALESCE(reasons, '') || '|' || COALESCE(resubmission_of, '') || '|' || COALESCE(location, '') FROM processed_file ORDER BY 1")
        }.map { Self.runID.stringByReplacingMatches(in: $0, range: NSRange($0.startIndex..., in: $0), withTemplate: "RUN") }
    }

    /// The ledger's reject files without run ids and times.
    func rejectLedger(_ root: String) throws -> [String] {
        try DatabaseQueue(path: root + "/state/ledger.sqlite").read { db in
            try String.fetchAll(db, sql: "SELECT pipeline || '|' || original_name || '|' || COALESCE(original_export_id, '') || '|' || COALESCE(derived_export_id, '') || '|' || seq || '|' || records FROM reject_file ORDER BY 1")
        }
    }

    func night1Zone() throws -> String { try CrashSafetyTests.sampleZone([("night-1", nil)]) }

    @Test(arguments: ["file-committed", "reject-cut-placed"])
    func rejectFilesOfALoadSurviveACrashAfterItsCommit(failpoint: String) throws {
        let clean = try night1Zone(), crashed = try night1Zone()
        defer { for root in [clean, crashed] { try? FileManager.default.removeItem(atPath: root) } }
        #expect(try runDropline(["run", "--root", clean] + CrashSafetyTests.runArguments).exitCode == 1)
        let expected = try Self.rejected(clean)
        #expect(expected.keys.contains("workers/run-of-2026-11-28/HR_WORKERS_HRIS01_20261127_001.xml"))
        #expect(expected.keys.contains("workers/run-of-2026-11-28/HR_WORKERS_HRIS01_20261127_001.xml.rejects.jsonl"))

        let died = try runDropline(["run", "--root", crashed] + CrashSafetyTests.runArguments, environment: ["DROPLINE_FAILPOINT": failpoint])
        #expect(died.exitCode == 137)
        // Died with the first file loaded (workers, three rejected records), its reject folder
        // without its README (written last), and nothing else done.
        let partway = try Self.rejected(crashed)
        #expect(partway.keys.allSatisfy { $0.hasPrefix("workers/") && !$0.hasSuffix("README.txt") })
        // Status counts the one input left in work/, not its marker or partial files.
        let status = try runDropline(["status", "--root", crashed, "--json"])
        #expect(status.stdout.contains("\"files_in_work\" : 1") || status.stdout.contains("\"files_in_work\":1"), "\(status.stdout)")
        #expect(try runDropline(["run", "--root", crashed] + CrashSafetyTests.runArguments).exitCode == 1)

        let got = try Self.rejected(crashed)
        #expect(got.keys.sorted() == expected.keys.sorted())
        for (path, text) in expected where got[path] != text { Issue.record("\(path) differs from the clean run's") }
        #expect(try rejectLedger(crashed) == rejectLedger(clean))
        // The ledger entry recovery writes for the file says what the run's would have.
        #expect(try fileLedger(crashed) == fileLedger(clean))
        #expect(FileManager.default.enumerator(atPath: crashed + "/work")?.allObjects.isEmpty ?? true)
        try Self.expectManifestsListEachFileOnce(crashed)
        let verify = try runDropline(["verify", "--root", crashed])
        #expect(verify.exitCode == 0, "\(verify.stdout)")
    }

    /// Files a dead run had claimed but not finished, whose bytes the warehouse already loaded
    /// from another file: a duplicate under its own name is taken again and skipped as a
    /// duplicate (recovery used to move it onto the archived original, with no ledger entry),
    /// and a copy taken for reprocessing is discarded, the archived original untouched.
    @Test func recoveryTellsDuplicatesAndReprocessCopiesFromLoads() throws {
        let zone = try TemporaryDropZone()
        for name in try FileManager.default.contentsOfDirectory(atPath: TestPaths.samples + "/night-1") where name.hasSuffix(".xml") {
            try zone.drop(TestPaths.samples + "/night-1/" + name)
        }
        _ = try zone.run(asOf: "2026-11-28")
        let original = try #require(zone.files(in: "archive").first { $0.hasSuffix("/ERP_RATES_ERP01_20261127_001.xml") })
        let originalBytes = try zone.read("archive/" + original)
        let dead = zone.root + "/work/20261129T010000Z-dead"
        try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
        // The second night's rate card is byte-identical to the first night's first one.
        try FileManager.default.copyItem(atPath: TestPaths.samples + "/night-2/ERP_RATES_ERP01_20261128_001.xml", toPath: dead + "/ERP_RATES_ERP01_20261128_001.xml")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dead + "/ERP_RATES_ERP01_20261128_001.xml")) == originalBytes)
        let reprocessed = try #require(zone.files(in: "archive").first { $0.hasSuffix("/HR_WORKERS_HRIS01_20261127_001.xml") })
        try FileManager.default.copyItem(atPath: zone.root + "/archive/" + reprocessed, toPath: dead + "/HR_WORKERS_HRIS01_20261127_001.xml")
        try Data(("archive/" + reprocessed).utf8).write(to: URL(fileURLWithPath: dead + "/HR_WORKERS_HRIS01_20261127_001.xml.reprocess"))
        let ledgerBefore = try DatabaseQueue(path: zone.root + "/state/ledger.sqlite").read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM processed_file") }

        let summary = try zone.run(asOf: "2026-11-29")
        let duplicate = try #require(summary.files.first { $0.name == "ERP_RATES_ERP01_20261128_001.xml" })
        #expect(duplicate.outcome == "skipped" && duplicate.reason == "duplicate_file")
        #expect(zone.files(in: "archive").contains { $0.hasSuffix("2026/11/29/ERP_RATES_ERP01_20261128_001.xml") })
        #expect(try zone.read("archive/" + original) == originalBytes)
        #expect(!summary.files.contains { $0.name == "HR_WORKERS_HRIS01_20261127_001.xml" })
        #expect(zone.files(in: "archive").filter { $0.hasSuffix("/HR_WORKERS_HRIS01_20261127_001.xml") } == [reprocessed])
        let ledger = try DatabaseQueue(path: zone.root + "/state/ledger.sqlite")
        #expect(try ledger.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM processed_file") } == ledgerBefore.map { $0 + 1 })
        #expect(zone.files(in: "work").isEmpty && zone.files(in: "inbox").isEmpty)
        #expect(try runDropline(["verify", "--root", zone.root]).exitCode == 0)
    }

    /// A file a dead run had claimed, while the sender dropped a new file under the same name:
    /// both are taken, the older one first under a name its pipeline still claims (it used to get
    /// a name no pipeline matches, and was quarantined as no_pipeline).
    @Test func aRecoveredFileBesideANewOneOfTheSameNameIsTakenToo() throws {
        let zone = try TemporaryDropZone()
        let name = "PSA_PROJECTS_PSA01_20261127_001.xml"
        let dead = zone.root + "/work/20261129T010000Z-dead"
        try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestPaths.samples + "/night-1/" + name, toPath: dead + "/" + name)
        try Data().write(to: URL(fileURLWithPath: dead + "/" + name + ".done"))
        let newer = try String(contentsOfFile: TestPaths.samples + "/night-1/" + name, encoding: .utf8).replacingOccurrences(of: "exportId=\"PSA-P-20261127-001\"", with: "exportId=\"PSA-P-20261127-001B\"")
        try zone.drop(data: Data(newer.utf8), as: name)

        let summary = try zone.run(asOf: "2026-11-29")
        #expect(summary.files.map(\.name) == ["PSA_PROJECTS_PSA01_20261127_001.recovered-20261129T010000Z-dead.xml", name])
        #expect(summary.files.allSatisfy { $0.outcome == "loaded" })
        #expect(zone.files(in: "quarantine").isEmpty && zone.files(in: "inbox").isEmpty && zone.files(in: "work").isEmpty)
    }

    /// A resubmitted reject file whose run dies after its load committed keeps its lineage:
    /// recovery's ledger entry names the reject file, as the run's would have.
    @Test func aResubmissionKeepsItsLineageThroughACrash() throws {
        let clean = try CrashSafetyTests.resubmittedZone(), crashed = try CrashSafetyTests.resubmittedZone()
        defer { for root in [clean, crashed] { try? FileManager.default.removeItem(atPath: root) } }
        let arguments = ["--settle-seconds", "0", "--as-of", "2026-11-29"]
        #expect(try runDropline(["run", "--root", clean] + arguments).exitCode == 1)
        #expect(try runDropline(["run", "--root", crashed] + arguments, environment: ["DROPLINE_FAILPOINT": "file-committed"]).exitCode == 137)
        #expect(try runDropline(["run", "--root", crashed] + arguments).exitCode == 0)
        let lineage = try fileLedger(crashed).filter { $0.hasPrefix("time_entries|PSA_TIMESHEETS_PSA01_20261127_002.xml|") }
        #expect(lineage.count == 1 && lineage.allSatisfy { $0.contains("|rejected/time_entries/RUN/PSA_TIMESHEETS_PSA01_20261127_001.xml|") })
        #expect(try fileLedger(crashed) == fileLedger(clean))
    }

    /// A run that dies once a manifest is recorded in the ledger, before its file is in place:
    /// the next run puts it there, and every file is listed by exactly one manifest (a manifest
    /// written before its ledger record used to be listed again by the next one).
    @Test func aManifestRecordedButNotInPlaceIsCompleted() throws {
        let root = try night1Zone()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let died = try runDropline(["run", "--root", root] + CrashSafetyTests.runArguments, environment: ["DROPLINE_FAILPOINT": "manifest-recorded"])
        #expect(died.exitCode == 137)
        let pending = ((FileManager.default.enumerator(atPath: root + "/manifests")?.allObjects as? [String]) ?? []).filter { $0.hasSuffix(".json.pending") }
        #expect(pending.count == 1)
        // The pipelines after the first go on (their records rejected as in any first night).
        #expect(try runDropline(["run", "--root", root] + CrashSafetyTests.runArguments).exitCode == 1)
        #expect(pending.allSatisfy { FileManager.default.fileExists(atPath: root + "/manifests/" + $0.dropLast(".pending".count)) })
        try Self.expectManifestsListEachFileOnce(root)
        let verify = try runDropline(["verify", "--root", root])
        #expect(verify.exitCode == 0, "\(verify.stdout)")
    }

    /// A run that dies once its labor file is reserved, before it is written: the next run
    /// writes it from the warehouse (the lines the dead run made as it posted died with it),
    /// and the zone ends as a clean run leaves it, whose file was made of those lines where
    /// they lay (`LaborSpool.install`).
    @Test func aLaborFileReservedButNotWrittenIsWrittenFromTheWarehouse() throws {
        let crashSafety = CrashSafetyTests()
        let clean = try crashSafety.seededZone(), crashed = try crashSafety.seededZone()
        defer { for root in [clean, crashed] { try? FileManager.default.removeItem(atPath: root) } }
        #expect(try runDropline(["run", "--root", clean] + CrashSafetyTests.runArguments).exitCode == 1)
        let died = try runDropline(["run", "--root", crashed] + CrashSafetyTests.runArguments, environment: ["DROPLINE_FAILPOINT": "labor-file-reserved"])
        #expect(died.exitCode == 137)
        #expect(!FileManager.default.fileExists(atPath: crashed + "/outbound/erp/ERP_LABOR_1000_20261128_001.xml"))
        // Every file was loaded before the crash: nothing is rejected now.
        #expect(try runDropline(["run", "--root", crashed] + CrashSafetyTests.runArguments).exitCode == 0)
        let expected = try crashSafety.state(clean), got = try crashSafety.state(crashed)
        #expect(expected.contains { $0.hasPrefix("outbound/erp/ERP_LABOR_1000_20261128_001.xml:") })
        #expect(got.filter { !expected.contains($0) }.isEmpty && expected.filter { !got.contains($0) }.isEmpty)
        // Made both ways: the clean run's lines in place, from the warehouse after the crash.
        func laborFrom(_ root: String) throws -> [String] {
            try String(contentsOfFile: root + "/logs/dropline.jsonl", encoding: .utf8).split(separator: "\n")
                .filter { $0.contains("\"output\":\"ERP_LABOR_") && $0.contains("Outbound file written") }
                .compactMap { line in ["run_in_place", "run", "warehouse"].first { line.contains("\"from\":\"\($0)\"") } }
        }
        #expect(try laborFrom(clean) == ["run_in_place"])
        let afterCrash = try laborFrom(crashed)
        #expect(afterCrash == ["warehouse"], "\(afterCrash)")
    }

    @Test func rejectFilesOfHeldEntriesSurviveACrashAfterTheirCommit() throws {
        let zone = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        _ = try zone.run(asOf: "2026-12-01", at: "2026-12-01T03:00:00Z")
        let warehouse = try DatabaseQueue(path: zone.root + "/warehouse.sqlite")
        func count(_ sql: String) throws -> Int? { try warehouse.read { try Int.fetchOne($0, sql: sql) } }
        #expect(try count("SELECT COUNT(*) FROM holds") == 1)

        // TE-00000003 expires on 2026-12-02: the run dies once its rejection is committed.
        let died = try runDropline(["run", "--root", zone.root, "--settle-seconds", "0", "--as-of", "2026-12-02"], environment: ["DROPLINE_FAILPOINT": "holds-committed"])
        #expect(died.exitCode == 137)
        #expect(try count("SELECT COUNT(*) FROM holds") == 0)
        #expect(try count("SELECT COUNT(*) FROM pending_reject_file") == 1)
        #expect(!zone.files(in: "rejected").contains { $0.contains("_HELD_") })

        let next = try runDropline(["run", "--root", zone.root, "--settle-seconds", "0", "--as-of", "2026-12-02"])
        #expect(next.exitCode == 0, "\(next.stderr)")
        let files = zone.files(in: "rejected").filter { $0.contains("/PSA_TIMESHEETS_HELD_20261202_001.xml") }
        #expect(files.count == 2)
        let xml = try #require(files.first { $0.hasSuffix(".xml") })
        let text = try String(contentsOfFile: zone.root + "/rejected/" + xml, encoding: .utf8)
        #expect(text.contains("<Entry id=\"TE-00000003\" date=\"2026-11-25\" project=\"PRJ-10077\" hours=\"6.00\" category=\"billable\"/>"))
        let lines = try String(contentsOfFile: zone.root + "/rejected/" + xml + ".rejects.jsonl", encoding: .utf8)
        #expect(lines.contains("\"key\":\"TE-00000003\"") && lines.contains("\"primary_reason\":\"no_erp_project_number\""))
        let folder = (xml as NSString).deletingLastPathComponent
        #expect(zone.files(in: "rejected/" + folder).contains("README.txt"))
        #expect(try rejectLedger(zone.root).contains { $0.hasPrefix("time_entries|PSA_TIMESHEETS_HELD_20261202_001.xml|HELD-20261202-") && $0.hasSuffix("|1|1") })
        #expect(try count("SELECT COUNT(*) FROM pending_reject_file") == 0)
        #expect(zone.files(in: "work").isEmpty)
        try Self.expectManifestsListEachFileOnce(zone.root)
        #expect(try runDropline(["verify", "--root", zone.root]).exitCode == 0)
    }
}
