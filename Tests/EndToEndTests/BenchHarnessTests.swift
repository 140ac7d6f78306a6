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
        // Each step shows the CPU time the hypervisor stole while it ran.
        let stolen = try #require(json?["stolen_seconds"] as? [String: Double])
        #expect(Set(stolen.keys) == Set(wall.keys).union(["xmllint_last", "sha256sum_last"]) && stolen.values.allSatisfy { $0 >= 0 }, "\(stolen)")
        #expect(result.stdout.split(separator: "\n").filter { $0.contains(" MB   stolen ") }.count == 16, "\(result.stdout)")
        // The dry run paired three times with an xmllint run just before it: each pair's ratio
        // is its two times', and the median of the three is printed and kept.
        let paired = try #require(json?["paired_dry_run_over_xmllint"] as? [String: Any])
        // (A floor too fast for GNU time's hundredths has no ratio: null.)
        let ratios = try #require(paired["pairs"] as? [Any]).map { $0 as? Double }
        let floors = try #require(paired["xmllint"] as? [Double]), dries = try #require(paired["dry_run"] as? [Double])
        #expect(ratios.count == 3 && floors.count == 3 && dries.count == 3, "\(paired)")
        for i in ratios.indices {
            if floors[i] > 0 {
                #expect(ratios[i].map { abs($0 - dries[i] / floors[i]) <= 0.005 + 1e-9 } == true, "\(paired)")
            } else {
                #expect(ratios[i] == nil, "\(paired)")
            }
        }
        let known = ratios.compactMap { $0 }.sorted()
        #expect(paired["median"] as? Double == (known.isEmpty ? nil : known[(known.count - 1) / 2]), "\(paired)")
        #expect(result.stdout.contains("dry-run / xmllint, paired"), "\(result.stdout)")
        for p in 1...3 { #expect(result.stdout.contains("dropline run --dry-run (pair \(p))") && result.stdout.contains("xmllint (pair \(p))"), "\(result.stdout)") }
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
        // bench/swift-floor on the same night: its least Swift reader gathers every entry, and its
        // SAX2 twin reads the same values (the script exits 70 when they differ).
        let swiftFloor = try runProcess("/bin/bash", [TestPaths.repository + "/bench/swift-floor", "2"],
                                        environment: ["DROPLINE_BIN": TestPaths.binary, "BENCH_DIR": dir])
        #expect(swiftFloor.exitCode == 0, "\(swiftFloor.stdout)\n\(swiftFloor.stderr)")
        for label in ["xmllint --stream --noout", "swift-floor walk", "swift-floor strings", "swift-floor records", "swift-floor checked", "swift-floor sax-walk", "swift-floor sax-checked", "dropline run --dry-run"] {
            #expect(swiftFloor.stdout.contains(label), "\(label) missing from:\n\(swiftFloor.stdout)")
        }
        #expect(swiftFloor.stdout.contains("swift-floor records gathered: \(entries); entries in the file: \(entries)"), "\(swiftFloor.stdout)")
        // bench/many-files: two small nights of one and three timesheet files, every file archived.
        let many = try runProcess("/bin/bash", [TestPaths.repository + "/bench/many-files", "1", "3"], environment: ["DROPLINE_BIN": TestPaths.binary])
        #expect(many.exitCode == 0, "\(many.stdout)\n\(many.stderr)")
        let sizes = many.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ").first.map(String.init) }
        #expect(sizes == ["1", "3"], "\(many.stdout)")
    }

    /// The peer does the same work as Dropline (issue #8: "doing the same work"): on a generated
    /// night and its next night (holds re-evaluated and superseded, corrections with reversals),
    /// and on the contract's worked example (ACKs, a termination), it writes the same outbound
    /// files, byte for byte but for the time each was written.
    @Test func thePeerWritesWhatDroplineWrites() throws {
        let dir = NSTemporaryDirectory() + "dropline-peer-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let generated = try runProcess("/usr/bin/env", ["python3", TestPaths.repository + "/bench/generate.py", dir + "/night", "1", "--next-night", dir + "/next"])
        #expect(generated.exitCode == 0, "\(generated.stderr)")
        let zone = try TemporaryDropZone()
        var compared = 0
        for (night, runDate) in [("night", "2026-11-28"), ("next", "2026-11-29")] {
            for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/" + night) where name.hasSuffix(".xml") {
                _ = try zone.drop(dir + "/" + night + "/" + name)
            }
            _ = try zone.run(asOf: runDate)
            let peer = try runProcess("/usr/bin/env", ["python3", TestPaths.repository + "/bench/peer.py", dir + "/" + night, dir + "/peer", runDate])
            #expect(peer.exitCode == 0, "\(peer.stderr)")
            let ours = try Self.outbound(zone.root + "/outbound"), theirs = try Self.outbound(dir + "/peer/outbound")
            #expect(ours.keys.sorted() == theirs.keys.sorted())
            for (name, text) in ours {
                #expect(theirs[name] == text, "\(name) differs after the run of \(runDate)")
            }
            compared += ours.count
        }
        #expect(compared > 15, "\(compared)")
        // 2026-12-03, nothing new: the entries held since the next night (business date 2026-11-28) expire (hold_days 5).
        let expiry = try zone.run(asOf: "2026-12-03")
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        let expired = try runProcess("/usr/bin/env", ["python3", TestPaths.repository + "/bench/peer.py", dir + "/empty", dir + "/peer", "2026-12-03"])
        let holds = try #require(expiry.holds)
        #expect((holds["rejected"] ?? 0) > 0, "\(holds)")
        #expect(expired.stdout == "peer: 0 posted, \(holds["held"] ?? 0) held, \(holds["rejected"] ?? 0) rejected, 0 skipped, 0 superseded\n", "\(expired.stdout) \(holds)")
        // The worked example, in its two runs.
        for (index, date) in ["20261127", "20261128"].enumerated() {
            let drop = dir + "/example-\(date)"
            try FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: TestPaths.examples + "/inbound") where name.hasSuffix(date + "_001.xml") {
                try FileManager.default.copyItem(atPath: TestPaths.examples + "/inbound/" + name, toPath: drop + "/" + name)
            }
            let peer = try runProcess("/usr/bin/env", ["python3", TestPaths.repository + "/bench/peer.py", drop, dir + "/example-peer", index == 0 ? "2026-11-28" : "2026-11-29"])
            #expect(peer.exitCode == 0, "\(peer.stderr)")
        }
        let example = try Self.outbound(TestPaths.examples + "/outbound"), peer = try Self.outbound(dir + "/example-peer/outbound")
        #expect(example.count == 6 && example.keys.sorted() == peer.keys.sorted(), "\(peer.keys.sorted())")
        for (name, text) in example {
            #expect(peer[name] == text, "\(name) differs from examples/outbound")
        }
    }

    /// The XML and CSV files under `folder` by file name, with `createdAt` (the time of writing) blanked.
    static func outbound(_ folder: String) throws -> [String: String] {
        var files: [String: String] = [:]
        for path in FileManager.default.enumerator(atPath: folder)?.compactMap({ $0 as? String }) ?? [] where path.hasSuffix(".xml") || path.hasSuffix(".csv") {
            let text = try String(contentsOfFile: folder + "/" + path, encoding: .utf8)
            files[URL(fileURLWithPath: path).lastPathComponent] = text.replacingOccurrences(of: #"createdAt="[^"]*""#, with: "createdAt=\"\"", options: .regularExpression)
        }
        return files
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
