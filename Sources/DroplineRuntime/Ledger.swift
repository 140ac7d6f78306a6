import DroplineCore
import DroplineLoad
import Foundation
import GRDB

/// `state/ledger.sqlite`: every file taken from the inbox (SHA-256, export id, outcome) and runs.
/// WAL, named forward-only migrations.
public final class Ledger {
    public let queue: DatabaseQueue

    public init(path: String) throws {
        _ = SQLiteSetup.applied
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            // As the warehouse: an entry is durable before the file moves to where it says.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        queue = try DatabaseQueue(path: path, configuration: config)
        chmod(path, 0o600)
        try Self.migrator.refuseNewer(queue, path: path)
        try Self.migrator.migrate(queue)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: processed_file, run, manifest, reject_file, resubmission") { db in
            try db.execute(sql: """
                CREATE TABLE run (
                    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
                    run_date TEXT NOT NULL, exit_code INTEGER, dry_run INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE processed_file (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id TEXT NOT NULL, pipeline TEXT NOT NULL, name TEXT NOT NULL,
                    sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, export_id TEXT, business_date TEXT,
                    outcome TEXT NOT NULL, reason TEXT, location TEXT,
                    loaded INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
                    held INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0, reasons TEXT,
                    reprocess_of TEXT, resubmission_of TEXT, processed_at TEXT NOT NULL);
                CREATE INDEX processed_file_sha256 ON processed_file(sha256);
                CREATE INDEX processed_file_export ON processed_file(pipeline, export_id);
                CREATE INDEX processed_file_run ON processed_file(run_id);
                CREATE TABLE reject_file (
                    path TEXT PRIMARY KEY, pipeline TEXT NOT NULL, run_id TEXT NOT NULL, original_name TEXT NOT NULL,
                    original_export_id TEXT, derived_export_id TEXT, seq INTEGER NOT NULL, records INTEGER NOT NULL,
                    created_at TEXT NOT NULL);
                CREATE TABLE resubmission (
                    name TEXT NOT NULL, sha256 TEXT NOT NULL, reject_path TEXT NOT NULL, original_name TEXT NOT NULL,
                    original_run_id TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (name, sha256));
                CREATE TABLE manifest (
                    pipeline TEXT NOT NULL, sequence INTEGER NOT NULL, run_id TEXT NOT NULL, path TEXT NOT NULL,
                    sha256 TEXT NOT NULL, PRIMARY KEY (pipeline, sequence));
                """)
        }
        m.registerMigration("v2: files listed by a later run's manifest") { db in
            // A run that dies before writing a pipeline's manifest leaves files no manifest
            // lists; the next manifest of that pipeline lists them and records it here.
            try db.execute(sql: "ALTER TABLE processed_file ADD COLUMN listed_in_run TEXT")
        }
        m.registerMigration("v3: purged reject folders") { db in
            // Reject folders removed on purpose (personal data kept no longer than needed):
            // `verify` no longer expects the reject files the manifests list in them.
            try db.execute(sql: "CREATE TABLE purged_reject_folder (path TEXT PRIMARY KEY, purged_at TEXT NOT NULL)")
        }
        m.registerMigration("v4: reject folders listed by a later run's manifest") { db in
            // A run that dies before writing a pipeline's manifest may leave reject files (or
            // recovery completes them in its folder); the next manifest lists them, once.
            try db.execute(sql: "CREATE TABLE listed_reject_folder (pipeline TEXT NOT NULL, run_id TEXT NOT NULL, listed_in_run TEXT NOT NULL, PRIMARY KEY (pipeline, run_id))")
        }
        return m
    }

    /// Of the runs that have a reject folder of the pipeline, those the ledger knows without a
    /// manifest of the pipeline (they died first) whose folder no later manifest lists yet.
    public func unlistedRejectFolders(pipeline: String, currentRun: String, among runs: [String]) throws -> [String] {
        try queue.read { db in
            try runs.filter { run in
                try run != currentRun
                    && Self.knowsRun(run, db)
                    && !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM manifest WHERE pipeline = ? AND run_id = ?)", arguments: [pipeline, run])!
                    && !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM listed_reject_folder WHERE pipeline = ? AND run_id = ?)", arguments: [pipeline, run])!
            }
        }
    }


    /// Records that a reject folder (zone-relative) is being removed on purpose.
    public func recordPurge(folder: String, at date: Date) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO purged_reject_folder (path, purged_at) VALUES (?, ?)", arguments: [folder, ISO8601DateFormatter().string(from: date)])
        }
    }

    /// Reject folders removed on purpose, zone-relative.
    public func purgedRejectFolders() throws -> Set<String> {
        try queue.read { db in Set(try String.fetchAll(db, sql: "SELECT path FROM purged_reject_folder")) }
    }

    /// Files of the pipeline that an earlier run took but never listed in a manifest (it died
    /// first) and that no later manifest lists yet, oldest first.
    public func unlisted(pipeline: String, currentRun: String) throws -> [FileEntry] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT p.* FROM processed_file p WHERE \(Self.unlistedCondition) ORDER BY p.id", arguments: [pipeline, currentRun]).map(Self.entry)
        }
    }


    static let unlistedCondition = """
        p.pipeline = ?1 AND p.run_id <> ?2 AND p.listed_in_run IS NULL
        AND NOT EXISTS (SELECT 1 FROM manifest m WHERE m.pipeline = p.pipeline AND m.run_id = p.run_id)
        """

    public struct FileEntry: Sendable, Codable {
        public var runID: String
        public var pipeline: String
        public var name: String
        public var sha256: String
        public var bytes: Int64
        public var exportID: String?
        public var businessDate: String?
        public var outcome: String
        public var reason: String?
        public var location: String?
        public var loaded: Int
        public var rejected: Int
        /// For a deliberate reprocess: the archived original (zone-relative path).
        public var reprocessOf: String? = nil
        public var held: Int = 0
        public var skipped: Int = 0
        /// Primary reasons of rejected and held records, by code.
        public var reasons: [String: Int] = [:]
        /// For a resubmitted reject file: the reject file it came from (zone-relative).
        public var resubmissionOf: String? = nil
    }

    /// Whether a processed file had exactly this many bytes (a file of another size cannot
    /// be a duplicate of one).
    public func seen(bytes: Int64) throws -> Bool {
        try queue.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM processed_file WHERE bytes = ?)", arguments: [bytes]) ?? true }
    }

    /// A file with these bytes was taken before (loaded, quarantined or skipped).
    public func seen(sha256: String) throws -> (name: String, runID: String)? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT name, run_id FROM processed_file WHERE sha256 = ? ORDER BY id LIMIT 1", arguments: [sha256])
                .map { ($0["name"], $0["run_id"]) }
        }
    }

    /// The hash of an earlier loaded file of this pipeline with the same export id.
    public func loadedExport(pipeline: String, exportID: String) throws -> (name: String, sha256: String)? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT name, sha256 FROM processed_file WHERE pipeline = ? AND export_id = ? AND outcome = 'loaded' ORDER BY id LIMIT 1", arguments: [pipeline, exportID])
                .map { ($0["name"], $0["sha256"]) }
        }
    }

    /// The ledger entry of a file a given run took under that name.
    public func entry(sha256: String, runID: String, name: String) throws -> FileEntry? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM processed_file WHERE sha256 = ? AND run_id = ? AND name = ? ORDER BY id DESC LIMIT 1", arguments: [sha256, runID, name]).map(Self.entry)
        }
    }

    static func entry(_ row: Row) -> FileEntry {
        var e = FileEntry(runID: row["run_id"], pipeline: row["pipeline"], name: row["name"], sha256: row["sha256"], bytes: row["bytes"], exportID: row["export_id"], businessDate: row["business_date"], outcome: row["outcome"], reason: row["reason"], location: row["location"], loaded: row["loaded"], rejected: row["rejected"], reprocessOf: row["reprocess_of"])
        e.held = row["held"]
        e.skipped = row["skipped"]
        e.reasons = decode(row["reasons"])
        e.resubmissionOf = row["resubmission_of"]
        return e
    }

    static func decode(_ reasons: String?) -> [String: Int] {
        reasons.flatMap { try? JSONDecoder().decode([String: Int].self, from: Data($0.utf8)) } ?? [:]
    }

    static func encode(_ reasons: [String: Int]) -> String? {
        guard !reasons.isEmpty else { return nil }
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return (try? e.encode(reasons)).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: reject files and resubmissions

    public struct RejectFile: Sendable, Codable {
        public var path: String
        public var pipeline: String
        public var run_id: String
        public var original_name: String
        public var original_export_id: String?
        public var derived_export_id: String?
        public var records: Int
        public var created_at: String
    }

    /// The next `-R<NNN>` for reject files derived from an export id.
    public func nextRejectSequence(exportID: String) throws -> Int {
        try queue.read { try Int.fetchOne($0, sql: "SELECT COALESCE(MAX(seq), 0) FROM reject_file WHERE original_export_id = ?", arguments: [exportID]) ?? 0 } + 1
    }

    public func recordRejectFile(_ r: RejectFile, seq: Int) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO reject_file (path, pipeline, run_id, original_name, original_export_id, derived_export_id, seq, records, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [r.path, r.pipeline, r.run_id, r.original_name, r.original_export_id, r.derived_export_id, seq, r.records, r.created_at])
        }
    }

    public func hasRejectFile(path: String) throws -> Bool {
        try queue.read { try Bool.fetchOne($0, sql: "SELECT EXISTS (SELECT 1 FROM reject_file WHERE path = ?)", arguments: [path]) ?? false }
    }

    public func rejectFiles() throws -> [RejectFile] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM reject_file ORDER BY created_at, path").map {
                RejectFile(path: $0["path"], pipeline: $0["pipeline"], run_id: $0["run_id"], original_name: $0["original_name"], original_export_id: $0["original_export_id"], derived_export_id: $0["derived_export_id"], records: $0["records"], created_at: $0["created_at"])
            }
        }
    }

    public func recordResubmission(name: String, sha256: String, rejectPath: String, originalName: String, originalRun: String, at date: Date) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO resubmission (name, sha256, reject_path, original_name, original_run_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [name, sha256, rejectPath, originalName, originalRun, ISO8601DateFormatter().string(from: date)])
        }
    }

    /// Lineage of a resubmitted file, by its inbox name and bytes.
    public func resubmission(name: String, sha256: String) throws -> (rejectPath: String, originalName: String, originalRun: String)? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM resubmission WHERE name = ? AND sha256 = ?", arguments: [name, sha256]).map { ($0["reject_path"], $0["original_name"], $0["original_run_id"]) }
        }
    }

    // MARK: manifests

    /// The newest manifest of a pipeline (sequence, SHA-256).
    public func lastManifest(pipeline: String) throws -> (sequence: Int, sha256: String, path: String)? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT sequence, sha256, path FROM manifest WHERE pipeline = ? ORDER BY sequence DESC LIMIT 1", arguments: [pipeline]).map { ($0["sequence"], $0["sha256"], $0["path"]) }
        }
    }

    /// Records a pipeline's manifest and that it lists the files earlier runs left unlisted and
    /// these runs' reject folders, in one transaction (a run dying between them left files that
    /// the next manifest listed again).
    public func recordManifest(pipeline: String, sequence: Int, runID: String, path: String, sha256: String, rejectFoldersOf runs: [String]) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT INTO manifest (pipeline, sequence, run_id, path, sha256) VALUES (?, ?, ?, ?, ?)", arguments: [pipeline, sequence, runID, path, sha256])
            try db.execute(sql: "UPDATE processed_file SET listed_in_run = ?2 WHERE id IN (SELECT p.id FROM processed_file p WHERE \(Self.unlistedCondition))", arguments: [pipeline, runID])
            for run in runs {
                try db.execute(sql: "INSERT OR IGNORE INTO listed_reject_folder (pipeline, run_id, listed_in_run) VALUES (?, ?, ?)", arguments: [pipeline, run, runID])
            }
        }
    }

    /// Whether the ledger has the pipeline's manifest of a run.
    public func hasManifest(pipeline: String, runID: String) throws -> Bool {
        try queue.read { try Bool.fetchOne($0, sql: "SELECT EXISTS (SELECT 1 FROM manifest WHERE pipeline = ? AND run_id = ?)", arguments: [pipeline, runID]) ?? false }
    }

    public func manifests() throws -> [(pipeline: String, sequence: Int, path: String, sha256: String)] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM manifest ORDER BY pipeline, sequence").map { ($0["pipeline"], $0["sequence"], $0["path"], $0["sha256"]) }
        }
    }

    public func record(_ e: FileEntry, at date: Date) throws {
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO processed_file (run_id, pipeline, name, sha256, bytes, export_id, business_date, outcome, reason, location, loaded, rejected, held, skipped, reasons, reprocess_of, resubmission_of, processed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [e.runID, e.pipeline, e.name, e.sha256, e.bytes, e.exportID, e.businessDate, e.outcome, e.reason, e.location, e.loaded, e.rejected, e.held, e.skipped, Self.encode(e.reasons), e.reprocessOf, e.resubmissionOf, ISO8601DateFormatter().string(from: date)])
        }
    }

    public func startRun(id: String, runDate: BusinessDate, at date: Date, dryRun: Bool) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT INTO run (run_id, started_at, run_date, dry_run) VALUES (?, ?, ?, ?)", arguments: [id, ISO8601DateFormatter().string(from: date), runDate.iso, dryRun])
        }
    }

    /// Whether the ledger has a run of this id (dry runs are not recorded).
    public func knowsRun(_ id: String) throws -> Bool {
        try queue.read { try Self.knowsRun(id, $0) }
    }

    static func knowsRun(_ id: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM run WHERE run_id = ?)", arguments: [id])!
    }

    /// The run date a run had (nil for a run the ledger does not know).
    public func runDate(of runID: String) throws -> BusinessDate? {
        try queue.read { try String.fetchOne($0, sql: "SELECT run_date FROM run WHERE run_id = ?", arguments: [runID]) }.flatMap { BusinessDate(iso: $0) }
    }

    public func finishRun(id: String, exitCode: Int32, at date: Date) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE run SET finished_at = ?, exit_code = ? WHERE run_id = ?", arguments: [ISO8601DateFormatter().string(from: date), exitCode, id])
        }
    }

    /// Every name the ledger has seen (for choosing a free sequence number).
    public func names(withPrefix prefix: String) throws -> [String] {
        try queue.read { try String.fetchAll($0, sql: "SELECT DISTINCT name FROM processed_file WHERE substr(name, 1, ?) = ? UNION SELECT name FROM resubmission WHERE substr(name, 1, ?) = ?", arguments: [prefix.count, prefix, prefix.count, prefix]) }
    }

    /// The files one run took (optionally of one pipeline), in the order it took them.
    public func files(runID: String, pipeline: String? = nil) throws -> [FileEntry] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM processed_file WHERE run_id = ?" + (pipeline == nil ? "" : " AND pipeline = ?") + " ORDER BY id",
                             arguments: StatementArguments([runID] + (pipeline.map { [$0] } ?? []))).map(Self.entry)
        }
    }

    /// The file the ledger placed at a zone-relative location.
    public func file(location: String) throws -> FileEntry? {
        try queue.read { try Row.fetchOne($0, sql: "SELECT * FROM processed_file WHERE location = ? ORDER BY id DESC LIMIT 1", arguments: [location]).map(Self.entry) }
    }

    public func files(pipeline: String?, limit: Int) throws -> [FileEntry] {
        try queue.read { db in
            var sql = "SELECT * FROM processed_file"
            var args: [DatabaseValueConvertible?] = []
            if let pipeline { sql += " WHERE pipeline = ?"; args.append(pipeline) }
            sql += " ORDER BY id DESC LIMIT ?"
            args.append(limit)
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map(Self.entry)
        }
    }
}
