import DroplineCore
import DroplineExtract
import Foundation
import GRDB

/// `metrics/dropline.prom` in the Prometheus textfile-collector format, rebuilt after every run
/// from the ledger and the warehouse (so it is right even after a crash) and replaced atomically,
/// so no half file is ever scraped. Names carry units and the `dropline_` prefix; labels are
/// bounded (pipeline, outcome, reason code): never a file name, run id or record value.
struct MetricsTextfile {
    let zone: DropZone
    let settings: ZoneSettings
    let ledger: Ledger
    let warehouse: DatabaseQueue
    let runDate: BusinessDate

    struct Sample {
        var labels: [(String, String)]
        var value: String
    }

    var families: [(name: String, help: String, type: String, samples: [Sample])] = []

    mutating func add(_ name: String, _ help: String, _ type: String, _ samples: [Sample]) {
        families.append((name, help, type, samples))
    }

    static func value(_ d: Decimal) -> String { DecimalText.canonical(d) }

    mutating func collect(lastRunSeconds: Double, lastExitCode: Int32, now: Date) throws {
        let files = try ledger.files(pipeline: nil, limit: Int.max)
        var byOutcome: [String: Int] = [:], records: [String: Int] = [:], reasons: [String: Int] = [:], bytes: [String: Int64] = [:], lastSuccess: [String: String] = [:]
        for f in files {
            byOutcome["\(f.pipeline)\u{1}\(f.outcome)\u{1}\(f.reason ?? "")", default: 0] += 1
            bytes[f.pipeline, default: 0] += f.bytes
            if f.outcome == "loaded" {
                for (k, v) in [("loaded", f.loaded), ("rejected", f.rejected), ("held", f.held), ("skipped", f.skipped)] { records["\(f.pipeline)\u{1}\(k)", default: 0] += v }
                for (k, v) in f.reasons { reasons["\(f.pipeline)\u{1}\(k)", default: 0] += v }
            }
        }
        try ledger.queue.read { db in
            for row in try Row.fetchAll(db, sql: "SELECT pipeline, MAX(processed_at) AS t FROM processed_file WHERE outcome = 'loaded' GROUP BY pipeline") { lastSuccess[row["pipeline"]] = row["t"] }
        }
        func split(_ key: String) -> [String] { key.components(separatedBy: "\u{1}") }
        add("dropline_files_total", "Input files taken from the inbox, by outcome and file-level reason.", "counter",
            byOutcome.sorted { $0.key < $1.key }.map { k, v in let p = split(k); return Sample(labels: [("pipeline", p[0]), ("outcome", p[1]), ("reason", p[2])], value: String(v)) })
        add("dropline_records_total", "Records of loaded files by outcome (time entries: loaded = posted).", "counter",
            records.sorted { $0.key < $1.key }.map { k, v in let p = split(k); return Sample(labels: [("pipeline", p[0]), ("outcome", p[1])], value: String(v)) })
        add("dropline_records_by_reason_total", "Rejected and held records by primary reason code.", "counter",
            reasons.sorted { $0.key < $1.key }.map { k, v in let p = split(k); return Sample(labels: [("pipeline", p[0]), ("reason", p[1])], value: String(v)) })
        add("dropline_input_bytes_total", "Bytes of input files taken.", "counter", bytes.sorted { $0.key < $1.key }.map { Sample(labels: [("pipeline", $0.key)], value: String($0.value)) })
        let iso = ISO8601DateFormatter()
        add("dropline_last_success_timestamp_seconds", "When the pipeline last loaded a file (Unix time).", "gauge",
            lastSuccess.sorted { $0.key < $1.key }.compactMap { k, v in iso.date(from: v).map { Sample(labels: [("pipeline", k)], value: String(Int64($0.timeIntervalSince1970))) } })
        add("dropline_run_duration_seconds", "Wall time of the last run.", "gauge", [Sample(labels: [], value: String(format: "%.3f", lastRunSeconds))])
        add("dropline_last_run_exit_code", "Exit code of the last run.", "gauge", [Sample(labels: [], value: String(lastExitCode))])
        add("dropline_last_run_timestamp_seconds", "When the last run finished (Unix time).", "gauge", [Sample(labels: [], value: String(Int64(now.timeIntervalSince1970)))])

        try warehouse.read { db in
            var held: [Sample] = []
            for row in try Row.fetchAll(db, sql: "SELECT reason, COUNT(*) AS n FROM holds GROUP BY reason ORDER BY reason") { held.append(Sample(labels: [("reason", row["reason"])], value: String(row["n"] as Int))) }
            add("dropline_held_entries", "Time entries on hold, by hold reason.", "gauge", held)
            let oldest = try String.fetchOne(db, sql: "SELECT MIN(business_date) FROM holds").flatMap { BusinessDate(iso: $0) }
            add("dropline_oldest_hold_age_days", "Days since the business date of the oldest held entry (0 when none).", "gauge", [Sample(labels: [], value: String(oldest.map { runDate.dayNumber - $0.dayNumber } ?? 0))])
            let backlog = try ZoneStatus.backlog(db)
            add("dropline_approval_backlog_timesheets", "Submitted timesheets not yet approved (latest known status).", "gauge", [Sample(labels: [], value: String(backlog.timesheets))])
            add("dropline_approval_backlog_oldest_age_days", "Age in days of the oldest submitted, unapproved timesheet (0 when none).", "gauge", [Sample(labels: [], value: String(backlog.oldest_age_days ?? 0))])
            add("dropline_project_requests_failed", "Projects whose ERP creation request was refused (latest ACK failed).", "gauge",
                [Sample(labels: [], value: String(try db.tableExists("project_acks") ? (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM project_acks WHERE status = 'failed'") ?? 0) : 0))])
            // Posting latency: export generated-at to the labor file that posted it, for the last file.
            var latency: Double = 0
            if let last = try Row.fetchOne(db, sql: "SELECT created_at, oldest_generated_at FROM outbound_file WHERE kind = 'erp_labor' AND status = 'written' ORDER BY rowid DESC LIMIT 1"),
                let posted = Timestamp.parse(last["created_at"] as String), let generated = (last["oldest_generated_at"] as String?).flatMap(Timestamp.parse) {
                latency = max(0, posted.timeIntervalSince(generated))
            }
            add("dropline_posting_latency_seconds", "Largest delay from an export's generatedAt to the ERP labor file that posted its entries (last file).", "gauge", [Sample(labels: [], value: String(format: "%.0f", latency))])
        }
        let gap = try ZoneReports(root: zone.root).gapCents()
        add("dropline_reconciliation_gap_hours", "Approved PSA hours not (yet) posted to the ERP.", "gauge", [Sample(labels: [], value: Self.value(DecimalText.fromHundredths(gap)))])
    }

    func render() -> String {
        var out = ""
        for f in families {
            out += "# HELP \(f.name) \(f.help)\n# TYPE \(f.name) \(f.type)\n"
            for s in f.samples {
                let labels = s.labels.isEmpty ? "" : "{" + s.labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
                out += "\(f.name)\(labels) \(s.value)\n"
            }
        }
        return out
    }

    static func escape(_ v: String) -> String {
        v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    func write() throws {
        try FileManager.default.createDirectory(atPath: zone.metrics, withIntermediateDirectories: true)
        try AtomicFile.write(Data(render().utf8), to: zone.metrics + "/dropline.prom")
    }
}
