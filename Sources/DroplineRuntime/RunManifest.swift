import DroplineCore
import Foundation

/// One pipeline run, for auditors: what came in (byte-exact), with which definition and
/// reference data, what became of every record, what went out, and the previous manifest's
/// SHA-256 (a chain per pipeline). Keys are written sorted; wall-clock timestamps live only under
/// `timings`. Documented in docs/manifest.md.
public struct RunManifest: Codable, Sendable {
    public static let formatVersion = 1

    public struct Definition: Codable, Sendable {
        public var name: String
        public var version: Int
        public var path: String
        public var sha256: String
    }
    public struct FileHash: Codable, Sendable {
        public var path: String
        public var bytes: Int64
        public var sha256: String
    }
    public struct Input: Codable, Sendable {
        public var name: String
        public var bytes: Int64
        public var sha256: String
        public var export_id: String?
        public var business_date: String?
        /// loaded | quarantined | skipped
        public var outcome: String
        public var reason: String?
        /// Where the file is now (archive/... or quarantine/...), zone-relative.
        public var location: String?
        public var records: [String: Int]
        public var reasons: [String: Int]
        public var reprocess_of: String?
        /// For a resubmitted reject file: the reject file, and through it the original file and run.
        public var resubmission_of: Lineage?
        /// For a quarantined file: its `.error.json`.
        public var error_file: FileHash?
        /// For a file an earlier run took and died before listing: that run (absent otherwise).
        public var taken_by_run: String? = nil
    }
    public struct Lineage: Codable, Sendable {
        public var rejects_file: String
        public var original_file: String
        public var original_run_id: String
    }
    public struct Output: Codable, Sendable {
        public var path: String
        public var bytes: Int64
        public var sha256: String
        public var records: Int
        public var control: [String: String]?
    }
    public struct Timings: Codable, Sendable {
        public var written_at: String
    }

    public var format_version: Int
    public var sequence: Int
    public var run_id: String
    public var run_date: String
    public var dropline_version: String
    public var pipeline: Definition
    /// Schemas and governed reference files the definition uses.
    public var reference_files: [FileHash]
    public var inputs: [Input]
    public var outputs: [Output]
    public var rejects: [FileHash]
    /// Held time entries re-evaluated at the start of the pipeline's run, by outcome.
    public var holds: [String: Int]?
    public var previous_manifest_sha256: String?
    public var timings: Timings

    /// Reads a manifest, refusing format versions newer than this Dropline knows.
    public static func read(_ data: Data) throws -> RunManifest {
        struct Header: Decodable { var format_version: Int }
        let header = try JSONDecoder().decode(Header.self, from: data)
        guard header.format_version <= formatVersion else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "manifest format_version \(header.format_version) is newer than this Dropline reads (\(formatVersion))"))
        }
        return try JSONDecoder().decode(RunManifest.self, from: data)
    }

    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try e.encode(self) + Data("\n".utf8)
    }
}

/// Writes the manifest of one pipeline's part of a run, chained to the previous one.
struct ManifestWriter {
    let zone: DropZone
    let context: RunContext
    let ledger: Ledger

    /// A file hashed before the manifest is written, with what its file was then
    /// (`FileDigest.identity`).
    struct HashedAhead {
        let hash: RunManifest.FileHash
        let identity: FileDigest.Identity

        /// `hashing` the file at `path`, its identity taken first (a file changed while it is
        /// read is then not taken); nil if it cannot be read.
        init?(_ path: String, hashing: (String) throws -> RunManifest.FileHash) {
            guard let identity = FileDigest.identity(of: path), let hash = try? hashing(path) else { return nil }
            self.hash = hash
            self.identity = identity
        }

        /// Whether the file at `path` is still the one hashed: the same file, size and
        /// modification time, and the size hashed.
        func holds(for path: String) -> Bool {
            hash.bytes == identity.size && FileDigest.identity(of: path) == identity
        }
    }

    /// This run's reject files of `d`, hashed ahead by path: on another thread once the last
    /// file's reject XML is in place, while utilization is refreshed, instead of after it (on
    /// the 1 GB night, 0.3 GB of reject files, a third of a second on the run's own thread).
    /// `write` takes each one whose file is still the one hashed and hashes anything else.
    func hashRejectsAhead(of d: PipelineDefinition) -> [String: HashedAhead] {
        let dir = zone.rejected + "/" + d.name + "/" + context.runID
        var hashed: [String: HashedAhead] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            let path = dir + "/" + name
            hashed[path] = HashedAhead(path) { try hash($0, of: d) }
        }
        return hashed
    }

    func write(_ d: PipelineDefinition, outputs: [RunSummary.Output], holds: [String: Int]?, version: String, hashedAhead: [String: HashedAhead] = [:]) throws -> String? {
        // This run's files, then files of runs that died before writing this pipeline's manifest.
        let entries = try ledger.files(runID: context.runID, pipeline: d.name) + ledger.unlisted(pipeline: d.name, currentRun: context.runID)
        // This run's reject files, then those of runs that died before writing this pipeline's
        // manifest (placed before they died, or completed by recovery), listed once.
        let pipelineRejects = zone.rejected + "/" + d.name
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: pipelineRejects)) ?? []).sorted()
        let orphans = try ledger.unlistedRejectFolders(pipeline: d.name, currentRun: context.runID, among: folders)
        var rejects: [RunManifest.FileHash] = []
        for run in [context.runID] + orphans {
            let dir = pipelineRejects + "/" + run
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                let path = dir + "/" + name
                if let ahead = hashedAhead[path], ahead.holds(for: path) {
                    rejects.append(ahead.hash)
                } else {
                    rejects.append(try hash(path, of: d))
                }
            }
        }
        guard !entries.isEmpty || !outputs.isEmpty || !(holds ?? [:]).isEmpty || !rejects.isEmpty else { return nil }
        let previous = try ledger.lastManifest(pipeline: d.name)
        let inputs = entries.map { e in
            RunManifest.Input(name: e.name, bytes: e.bytes, sha256: e.sha256, export_id: e.exportID, business_date: e.businessDate, outcome: e.outcome, reason: e.reason, location: e.location,
                              records: e.outcome == "loaded" ? ["loaded": e.loaded, "rejected": e.rejected, "held": e.held, "skipped": e.skipped] : [:], reasons: e.reasons, reprocess_of: e.reprocessOf,
                              resubmission_of: (try? ledger.resubmission(name: e.name, sha256: e.sha256)).flatMap { $0 }.map { RunManifest.Lineage(rejects_file: $0.rejectPath, original_file: $0.originalName, original_run_id: $0.originalRun) },
                              // A sidecar removed by hand is left out rather than stop every later manifest.
                              error_file: e.outcome == "quarantined" ? e.location.flatMap { try? hash(zone.root + "/" + $0 + ".error.json") } : nil,
                              taken_by_run: e.runID == context.runID ? nil : e.runID)
        }
        let manifest = RunManifest(
            format_version: RunManifest.formatVersion, sequence: (previous?.sequence ?? 0) + 1, run_id: context.runID, run_date: context.runDate.iso, dropline_version: version,
            pipeline: .init(name: d.name, version: d.version, path: relative(d.sourcePath), sha256: d.sourceSHA256),
            reference_files: try d.dependencies.map { try hash($0, of: d) },
            inputs: inputs,
            // The digest each writer took of the bytes it streamed, fsynced and renamed into place
            // (not read back: the labor file of a 1 GB night is over a gigabyte); `verify`
            // hashes the files on disk against it.
            outputs: try outputs.map { o in
                guard let bytes = FileDigest.size(of: zone.root + "/" + o.path) else { throw unlisted(zone.root + "/" + o.path, d, "it is gone") }
                return RunManifest.Output(path: o.path, bytes: bytes, sha256: o.sha256, records: o.records, control: o.control)
            },
            rejects: rejects, holds: holds, previous_manifest_sha256: previous?.sha256,
            timings: .init(written_at: ISO8601DateFormatter().string(from: context.clock())))
        let data = try manifest.encoded()
        let dir = zone.manifests + "/" + d.name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + context.runID + ".json"
        // Durable under a name of its own, recorded with what it lists in one ledger transaction,
        // then put in place: a run dying before the record leaves nothing listed (the next
        // manifest lists it all), one dying after it leaves the pending file that
        // `completePending` puts in place.
        try AtomicFile.write(data, to: path + Self.pending)
        let rel = String(path.dropFirst(zone.root.count + 1))
        try ledger.recordManifest(pipeline: d.name, sequence: manifest.sequence, runID: context.runID, path: rel, sha256: SHA256Text.hex(data), rejectFoldersOf: orphans)
        Failpoint.manifestRecorded.hit()
        try Self.place(path + Self.pending, at: path)
        return rel
    }

    static let pending = ".pending"

    static func place(_ pending: String, at path: String) throws {
        guard rename(pending, path) == 0 else {
            throw RunError.io("the manifest \(path) could not be put in place: \(ErrorText.system(errno)). It waits as \(pending); fix the folder, then run again.")
        }
        AtomicFile.syncFolder(of: path)
    }

    /// Manifests a dead run recorded in the ledger but had not put in place are put there; those
    /// it had not recorded are removed (the next manifest lists what they would have).
    static func completePending(zone: DropZone, ledger: Ledger) throws {
        let fm = FileManager.default
        for pipeline in ((try? fm.contentsOfDirectory(atPath: zone.manifests)) ?? []) {
            let dir = zone.manifests + "/" + pipeline
            for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []) where name.hasSuffix(".json" + pending) {
                let runID = String(name.dropLast((".json" + pending).count))
                if try ledger.hasManifest(pipeline: pipeline, runID: runID) {
                    try place(dir + "/" + name, at: dir + "/" + runID + ".json")
                } else {
                    unlink(dir + "/" + name)
                }
            }
        }
    }

    /// Zone-relative where possible (files of the zone), else as given.
    func relative(_ path: String) -> String {
        path.hasPrefix(zone.root + "/") ? String(path.dropFirst(zone.root.count + 1)) : path
    }

    /// The file's digest; a file that cannot be read stops the run rather than leave the
    /// manifest silent about it (the run's files stay unlisted for the next manifest).
    func hash(_ path: String, of d: PipelineDefinition? = nil) throws -> RunManifest.FileHash {
        do {
            let digest = try FileDigest.sha256(path: path)
            return RunManifest.FileHash(path: relative(path), bytes: digest.bytes, sha256: digest.hex)
        } catch {
            throw unlisted(path, d, "it cannot be read (\(ErrorText.describe(error)))")
        }
    }

    func unlisted(_ path: String, _ d: PipelineDefinition?, _ why: String) -> RunError {
        RunError.io("the manifest\(d.map { " of " + $0.name } ?? "") cannot list \(relative(path)): \(why). No manifest was written; restore the file or its permissions, then run again: the next manifest lists this run's inputs and reject files.")
    }
}
