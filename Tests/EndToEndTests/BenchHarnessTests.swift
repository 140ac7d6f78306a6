import DroplineTesting
import Foundation
import Testing

/// `bench/run` works from a clean checkout: on a 2 MB night, with the test build of `dropline`,
/// it prints every step and ratio and writes its JSON. A smoke test of the harness only; no
/// timing is judged here (issue #8: benchmarks are never timed tests).
struct BenchHarnessTests {
    @Test func benchRunMeasuresASmallNight() throws {
        let dir = NSTemporaryDirectory() + "dropline-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let result = try runProcess("/bin/bash", [TestPaths.repository + "/bench/run", "2"],
                                    environment: ["DROPLINE_BIN": TestPaths.binary, "BENCH_DIR": dir])
        #expect(result.exitCode == 0, "\(result.stdout)\n\(result.stderr)")
        for label in ["xmllint --stream --noout", "sha256sum (all files)", "dropline run --dry-run", "dropline run ", "dropline run (rerun)", "dropline verify", "dropline run (next night)", "python peer",
                      "dry-run / xmllint", "run / xmllint", "peer / run", "rerun / sha256sum", "next night / xmllint", "peak RSS of run", "records/s (run)"] {
            #expect(result.stdout.contains(label), "\(label) missing from:\n\(result.stdout)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/results-2.json"))) as? [String: Any]
        let entries = try #require(json?["entries"] as? Int)
        #expect(entries > 10_000)
        let wall = try #require(json?["wall_seconds"] as? [String: Double])
        #expect(Set(wall.keys) == ["xmllint", "sha256sum", "dry_run", "run", "rerun", "verify", "next_night", "peer"])
        #expect(wall.values.allSatisfy { $0 >= 0 })
        // Both floors measured twice, first and last; the ratios use the faster of each.
        let baseline = try #require(json?["baseline_runs"] as? [String: [Double]])
        #expect(baseline["xmllint"]?.count == 2 && baseline["sha256sum"]?.count == 2, "\(baseline)")
        #expect(wall["xmllint"] == baseline["xmllint"]?.min() && wall["sha256sum"] == baseline["sha256sum"]?.min(), "\(wall) \(baseline)")
        #expect(result.stdout.contains("xmllint (again, last)") && result.stdout.contains("sha256sum (again, last)"), "\(result.stdout)")
        let rss = try #require(json?["peak_rss_kb"] as? [String: Int])
        #expect(rss["run"].map { $0 > 0 } == true)
        // The night was generated where BENCH_DIR says, not in the checkout.
        #expect(FileManager.default.fileExists(atPath: dir + "/.data/2/PSA_TIMESHEETS_PSA01_20261127_001.xml"))
        #expect(FileManager.default.fileExists(atPath: dir + "/.data/2-next/PSA_TIMESHEETS_PSA01_20261128_001.xml"))
        // bench/sqlite-floor on the same night: SQLite storing the rows the run wrote.
        let floor = try runProcess("/bin/bash", [TestPaths.repository + "/bench/sqlite-floor", "2"],
                                   environment: ["DROPLINE_BIN": TestPaths.binary, "BENCH_DIR": dir])
        #expect(floor.exitCode == 0, "\(floor.stdout)\n\(floor.stderr)")
        let rows = floor.stdout.split(separator: "\n").first { $0.hasPrefix("sqlite3: insert the run's ") }
        let count = rows.flatMap { Int($0.dropFirst("sqlite3: insert the run's ".count).prefix { $0.isNumber }) }
        #expect((count ?? 0) > entries, "\(floor.stdout)")
        #expect(floor.stdout.contains("sqlite3 copy / xmllint: "), "\(floor.stdout)")
        // bench/swift-floor on the same night: its least Swift reader gathers every entry.
        let swiftFloor = try runProcess("/bin/bash", [TestPaths.repository + "/bench/swift-floor", "2"],
                                        environment: ["DROPLINE_BIN": TestPaths.binary, "BENCH_DIR": dir])
        #expect(swiftFloor.exitCode == 0, "\(swiftFloor.stdout)\n\(swiftFloor.stderr)")
        for label in ["xmllint --stream --noout", "swift-floor walk", "swift-floor strings", "swift-floor records", "swift-floor checked", "dropline run --dry-run"] {
            #expect(swiftFloor.stdout.contains(label), "\(label) missing from:\n\(swiftFloor.stdout)")
        }
        #expect(swiftFloor.stdout.contains("swift-floor records gathered: \(entries); entries in the file: \(entries)"), "\(swiftFloor.stdout)")
        // bench/many-files: two small nights of one and three timesheet files, every file archived.
        let many = try runProcess("/bin/bash", [TestPaths.repository + "/bench/many-files", "1", "3"], environment: ["DROPLINE_BIN": TestPaths.binary])
        #expect(many.exitCode == 0, "\(many.stdout)\n\(many.stderr)")
        let sizes = many.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ").first.map(String.init) }
        #expect(sizes == ["1", "3"], "\(many.stdout)")
    }

    /// A step that fails gets no time: a crashed run would otherwise look fast. The harness stops
    /// with the step's status and its stderr.
    @Test func aFailedStepStopsTheBenchmark() throws {
        let dir = NSTemporaryDirectory() + "dropline-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Makes zones like dropline, then crashes on every run.
        let fake = dir + "/crashing-dropline"
        try "#!/bin/sh\nif [ \"$1\" = init ]; then exec \"\(TestPaths.binary)\" \"$@\"; fi\necho 'Fatal error: simulated' >&2\nexit 70\n".write(toFile: fake, atomically: true, encoding: .utf8)
        #expect(chmod(fake, 0o755) == 0)
        let result = try runProcess("/bin/bash", [TestPaths.repository + "/bench/run", "1"], environment: ["DROPLINE_BIN": fake, "BENCH_DIR": dir])
        #expect(result.exitCode == 70, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stderr.contains("dropline run --dry-run exited with status 70") && result.stderr.contains("Fatal error: simulated"), "\(result.stderr)")
        #expect(!result.stdout.contains("dropline run --dry-run "), "\(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/results-1.json"))
    }
}
