import DroplineCore
import Foundation
import GRDB

/// `dropline status`: zone health from the folders, the ledger and the warehouse.
public struct ZoneStatus: Codable, Sendable {
    public struct PipelineState: Codable, Sendable {
        public var pipeline: String
        public var last_run_id: String?
        public var last_processed_at: String?
        public var last_outcome: String?
        public var quarantined_files: Int
    }
    public struct FailedAck: Codable, Sendable {
        public var psa_code: String
        public var message: String?
    }
    /// A run holding the zone's lock now.
    public struct Running: Codable, Sendable {
        public var pid: Int32
        /// When it took the lock (ISO 8601, UTC).
        public var since: String
    }
    public struct Backlog: Codable, Sendable {
        /// Submitted, not yet approved timesheets (latest known status).
        public var timesheets: Int
        /// Largest age in days (export business date - submission date), if known.
        public var oldest_age_days: Int?
    }

    public var root: String
    public var waiting_files: [String]
    public var files_in_work: Int
    public var quarantined_files: Int
    public var held_entries: Int
    public var oldest_hold_business_date: String?
    public var last_run_id: String?
    public var last_run_exit_code: Int?
    public var pipelines: [PipelineState]
    public var failed_project_acks: [FailedAck]
    public var approval_backlog: Backlog
    public var unwritten_outbound_files: Int
    /// The run in progress, if one holds the zone's lock (its files in `work/` are its own).
    public var running: Running?

    public static func read(root: String) throws -> ZoneStatus {
        let zone = DropZone(root: root)
        guard zone.exists else { throw RunError.noZone("\(zone.root) is not a Dropline zone (no inbox/)") }
        let settings = try ZoneSettings.load(root: zone.root)
        let fm = FileManager.default
        let waiting = ((try? fm.contentsOfDirectory(atPath: zone.inbox)) ?? []).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".done") }.sorted()
        // Input files an interrupted run left (not its markers, partial or temporary files).
        let work = (fm.enumerator(atPath: zone.work)?.allObjects as? [String] ?? []).filter { $0.contains("/") && WorkRecovery.isInput(($0 as NSString).lastPathComponent) }.count
        func quarantined(_ dir: String) -> Int {
            ((fm.enumerator(atPath: dir)?.allObjects as? [String]) ?? []).filter { $0.hasSuffix(".error.json") }.count
        }
        var status = ZoneStatus(root: zone.root, waiting_files: waiting, files_in_work: work, quarantined_files: quarantined(zone.quarantine), held_entries: 0, oldest_hold_business_date: nil, last_run_id: nil, last_run_exit_code: nil, pipelines: [], failed_project_acks: [], approval_backlog: Backlog(timesheets: 0, oldest_age_days: nil), unwritten_outbound_files: 0, running: RunLock.holder(zone: zone).map { Running(pid: $0.pid, since: ISO8601DateFormatter().string(from: $0.since)) })
        let names = (try? PipelineRunner.definitions(zone: zone, settings: settings, override: nil).map(\.name)) ?? []
        if fm.fileExists(atPath: zone.ledger) {
            let ledger = try Ledger(path: zone.ledger)
            try ledger.queue.read { db in
                if let run = try Row.fetchOne(db, sql: "SELECT run_id, exit_code FROM run WHERE finished_at IS NOT NULL ORDER BY started_at DESC, rowid DESC LIMIT 1") {
                    status.last_run_id = run["run_id"]
                    status.last_run_exit_code = run["exit_code"]
                }
                for name in names {
                    let last = try Row.fetchOne(db, sql: "SELECT run_id, processed_at, outcome FROM processed_file WHERE pipeline = ? ORDER BY id DESC LIMIT 1", arguments: [name])
                    status.pipelines.append(PipelineState(pipeline: name, last_run_id: last?["run_id"], last_processed_at: last?["processed_at"], last_outcome: last?["outcome"], quarantined_files: quarantined(zone.quarantine + "/" + name)))
                }
            }
        } else {
            status.pipelines = names.map { PipelineState(pipeline: $0, quarantined_files: quarantined(zone.quarantine + "/" + $0)) }
        }
        let warehouse = settings.warehouse.hasPrefix("/") ? settings.warehouse : zone.root + "/" + settings.warehouse
        if fm.fileExists(atPath: warehouse) {
            try Warehouse.open(path: warehouse).read { db in
                status.held_entries = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM holds") ?? 0
                status.oldest_hold_business_date = try String.fetchOne(db, sql: "SELECT MIN(business_date) FROM holds")
                if try db.tableExists("project_acks") {
                    status.failed_project_acks = try Row.fetchAll(db, sql: "SELECT psa_code, message FROM project_acks WHERE status = 'failed' ORDER BY psa_code").map { FailedAck(psa_code: $0["psa_code"], message: $0["message"]) }
                }
                status.approval_backlog = try ZoneStatus.backlog(db)
                status.unwritten_outbound_files = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbound_file WHERE status <> 'written'") ?? 0
            }
        }
        return status
    }

    /// Contract §4.6: timesheets whose latest status is `submitted`; age = export business date
    /// minus the calendar date of `submittedAt` as written.
    static func backlog(_ db: Database) throws -> Backlog {
        var count = 0
        var oldest: Int?
        // A cursor: every submitted timesheet of a large night as `Row` objects took about 14 MB.
        let rows = try Row.fetchCursor(db, sql: "SELECT submitted_at, export_business_date FROM timesheet_status WHERE status = 'submitted'")
        while let row = try rows.next() {
            count += 1
            guard let s: String = row["submitted_at"], let submitted = BusinessDate(iso: Substring(s.prefix(10))),
                let export = BusinessDate(iso: row["export_business_date"] as String)
            else { continue }
            oldest = max(oldest ?? Int.min, export.dayNumber - submitted.dayNumber)
        }
        return Backlog(timesheets: count, oldest_age_days: oldest)
    }
}

extension ZoneStatus.PipelineState {
    init(pipeline: String, quarantined_files: Int) {
        self.init(pipeline: pipeline, last_run_id: nil, last_processed_at: nil, last_outcome: nil, quarantined_files: quarantined_files)
    }
}
