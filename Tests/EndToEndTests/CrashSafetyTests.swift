import DroplineCore
import DroplineTesting
import Foundation
import GRDB
import Testing

/// A real `dropline run` killed with SIGKILL at many instants, then run again, leaves warehouse,
/// ledger, outbound folder, archive and quarantine exactly as one clean run does.
@Suite(.serialized)
struct CrashSafetyTests {
    static let killPoints = 30

    /// A zone with samples/night-1 and a generated year of timesheets in the inbox.
    func seededZone() throws -> String {
        let root = NSTemporaryDirectory() + "dropline-crash-" + UUID().uuidString
        #expect(try runDropline(["init", root]).exitCode == 0)
        for name in try FileManager.default.contentsOfDirectory(atPath: TestPaths.samples + "/night-1") where name.hasSuffix(".xml") || name.hasSuffix(".done") {
            try FileManager.default.copyItem(atPath: TestPaths.samples + "/night-1/" + name, toPath: root + "/inbox/" + name)
        }
        try SampleDrop.timesheets().write(toFile: root + "/inbox/PSA_TIMESHEETS_PSA01_20261127_001.xml", atomically: true, encoding: .utf8)
        return root
    }

    static let runArguments = ["--settle-seconds", "0", "--as-of", "2026-11-28"]

    /// Everything a run leaves behind that must not depend on crashes: table rows (without run
    /// ids and timestamps), ledger outcomes, every file under outbound/, archive/, quarantine/
    /// (XML createdAt, which is the wall clock, normalised), and the inbox and work/ being empty.
    func state(_ root: String) throws -> [String] {
        var out: [String] = []
        let volatile: Set<String> = ["_run_id", "run_id", "held_since_run", "created_at", "processed_at", "id", "sha256_of_manifest"]
        let warehouse = try DatabaseQueue(path: root + "/warehouse.sqlite")
        try warehouse.read { db in
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations' ORDER BY name") {
                // An outbound file's hash covers its createdAt (the wall clock); its content is compared below.
                let cols = try db.columns(in: table).map(\.name).filter { !volatile.contains($0) && !(table == "outbound_file" && $0 == "sha256") }
                let rows = try String.fetchAll(db, sql: "SELECT \(cols.map { "COALESCE(quote(\"\($0)\"), 'NULL')" }.joined(separator: " || '|' || ")) FROM \"\(table)\"")
                out += rows.sorted().map { "\(table): \($0)" }
            }
        }
        let ledger = try DatabaseQueue(path: root + "/state/ledger.sqlite")
        out += try ledger.read { db in
            try String.fetchAll(db, sql: "SELECT pipeline || '|' || name || '|' || sha256 || '|' || outcome || '|' || COALESCE(reason, '') || '|' || loaded || '|' || rejected || '|' || COALESCE(location, '') FROM processed_file").sorted().map { "ledger: \($0)" }
        }
        let createdAt = try NSRegularExpression(pattern: "createdAt=\"[^\"]*\"")
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
        let clean = try seededZone()
        defer { try? FileManager.default.removeItem(atPath: clean) }
        let started = Date()
        let first = try runDropline(["run", "--root", clean] + Self.runArguments)
        let duration = Date().timeIntervalSince(started)
        #expect(first.exitCode == 1)
        let expected = try state(clean)
        #expect(expected.contains { $0.hasPrefix("outbound/erp/ERP_LABOR_1000_20261128_001.xml:") })
        #expect(expected.contains { $0.hasPrefix("ledger: time_entries|PSA_TIMESHEETS_PSA01_20261127_001.xml|") })

        // Kill points spread over the run. A kill that comes after the run already ended proves
        // nothing, so the time scale adapts (other tests share the machine) until 30 kills have
        // hit a running process; every attempt, hit or not, must end equal to the clean run.
        var scale = duration
        var hits = 0, attempts = 0
        while hits < Self.killPoints && attempts < Self.killPoints * 4 {
            attempts += 1
            let root = try seededZone()
            defer { try? FileManager.default.removeItem(atPath: root) }
            let delay = scale * Double(hits + 1) / Double(Self.killPoints + 1)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestPaths.binary)
            p.arguments = ["run", "--root", root] + Self.runArguments
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(useconds_t(delay * 1_000_000))
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                hits += 1
            } else {
                scale *= 0.85
            }
            p.waitUntilExit()
            let rerun = try runDropline(["run", "--root", root] + Self.runArguments)
            #expect([0, 1].contains(rerun.exitCode), "attempt \(attempts): \(rerun.stderr)")
            let got = try state(root)
            let missing = expected.filter { !got.contains($0) }, extra = got.filter { !expected.contains($0) }
            #expect(missing.isEmpty && extra.isEmpty, "attempt \(attempts) after \(Int(delay * 1000)) ms: missing \(missing.prefix(5)), extra \(extra.prefix(5))")
        }
        #expect(hits == Self.killPoints, "only \(hits) of \(attempts) attempts killed a running process")
    }
}
