import DroplineCore
import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// A run that dies after taking a file but before writing its pipeline's manifest leaves a file
/// no manifest lists; the next manifest of that pipeline lists it, once, and `verify` covers it.
struct UnlistedFilesTests {
    @Test func aDeadRunsFilesAreListedByTheNextManifest() throws {
        let zone = try TemporaryDropZone()
        try zone.drop(TestPaths.samples + "/night-1/HR_WORKERS_HRIS01_20261127_001.xml")
        _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:00:00Z")

        // What a run killed after archiving a file and before its manifest leaves behind.
        let dead = "20261128T020000Z-dead"
        let name = "HR_WORKERS_HRIS01_20261128_001.xml"
        let location = "archive/workers/2026/11/28/" + name
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.samples + "/night-2/" + name))
        try data.write(to: URL(fileURLWithPath: zone.root + "/" + location))
        let ledger = try DatabaseQueue(path: zone.root + "/state/ledger.sqlite")
        try ledger.write { db in
            try db.execute(sql: "INSERT INTO run (run_id, started_at, run_date) VALUES (?, '2026-11-28T02:00:00Z', '2026-11-28')", arguments: [dead])
            try db.execute(sql: """
                INSERT INTO processed_file (run_id, pipeline, name, sha256, bytes, outcome, location, loaded, processed_at)
                VALUES (?, 'workers', ?, ?, ?, 'loaded', ?, 3, '2026-11-28T02:00:05Z')
                """, arguments: [dead, name, SHA256Text.hex(data), data.count, location])
        }

        let next = try zone.run(asOf: "2026-11-29", at: "2026-11-29T01:00:00Z")
        let path = try #require(next.manifests.first { $0.contains("/workers/") })
        let manifest = try RunManifest.read(try zone.read(path))
        let input = try #require(manifest.inputs.first { $0.name == name })
        #expect(input.taken_by_run == dead)
        #expect(input.sha256 == SHA256Text.hex(data))
        #expect(input.location == location)
        #expect(try runDropline(["verify", "--root", zone.root]).exitCode == 0)

        // Listed once: the run after that has nothing of it to list.
        let third = try zone.run(asOf: "2026-11-30", at: "2026-11-30T01:00:00Z")
        #expect(!third.manifests.contains { $0.contains("/workers/") })

        // And verify now covers it: a changed byte in the archived file is found.
        let handle = try #require(FileHandle(forWritingAtPath: zone.root + "/" + location))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(" ".utf8))
        try handle.close()
        let verify = try runDropline(["verify", "--root", zone.root])
        #expect(verify.exitCode == 65)
        #expect(verify.stdout.contains(name) || verify.stderr.contains(name))
    }
}
