import DroplineCore
import DroplineExtract
import Foundation

/// What `dropline rejects` works on: the reject folders, their JSON lines, resubmission and purge.
public struct RejectReview {
    let zone: DropZone

    public init(root: String) throws {
        zone = DropZone(root: root)
        guard zone.exists else { throw RunError.noZone("\(zone.root) is not a Dropline zone (no inbox/)") }
    }

    public struct Entry: Codable, Sendable {
        public var pipeline: String
        public var run_id: String
        /// The original file's name.
        public var file: String
        public var records: Int
        /// Zone-relative path of the reject XML, when there is one.
        public var xml: String?
        public var jsonl: String
    }

    /// Every reject file, oldest run first; `since` compares with the run id's date.
    public func list(pipeline: String?, since: BusinessDate?) -> [Entry] {
        let fm = FileManager.default
        var out: [Entry] = []
        for p in ((try? fm.contentsOfDirectory(atPath: zone.rejected)) ?? []).sorted() where pipeline == nil || p == pipeline {
            for run in ((try? fm.contentsOfDirectory(atPath: zone.rejected + "/" + p)) ?? []).sorted() {
                if let since, let d = BusinessDate(compact: run.prefix(8)), d < since { continue }
                let dir = zone.rejected + "/" + p + "/" + run
                for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() where name.hasSuffix(".rejects.jsonl") {
                    let file = String(name.dropLast(".rejects.jsonl".count))
                    var lines = 0
                    try? LineReader.forEachLine(path: dir + "/" + name) { if !$0.isEmpty { lines += 1 } }
                    let xml = fm.fileExists(atPath: dir + "/" + file) ? "rejected/\(p)/\(run)/\(file)" : nil
                    out.append(Entry(pipeline: p, run_id: run, file: file, records: lines, xml: xml, jsonl: "rejected/\(p)/\(run)/\(name)"))
                }
            }
        }
        return out
    }

    public struct Line: Codable, Sendable {
        public var record_type: String
        public var key: String?
        public var line: Int
        public var primary_reason: String
        public var checks: [RecordIssue]
    }

    /// The rejected records of a run id (every file of it) or of one file (reject XML, JSON lines
    /// or original name).
    public func show(_ target: String) throws -> [(Entry, [Line])] {
        let all = list(pipeline: nil, since: nil)
        let base = (target as NSString).lastPathComponent
        let chosen = all.filter { $0.run_id == target || $0.xml == target || $0.jsonl == target || $0.file == base || $0.jsonl.hasSuffix("/" + base) || target.hasSuffix($0.xml ?? "\u{0}") }
        guard !chosen.isEmpty else { throw RunError.noZone("no reject file or run '\(target)' under \(zone.rejected)") }
        return try chosen.map { e in
            let text = try String(contentsOfFile: zone.root + "/" + e.jsonl, encoding: .utf8)
            return (e, try text.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) })
        }
    }

    public struct Resubmission: Codable, Sendable {
        public var inbox_name: String
        public var from: String
        public var sha256: String
    }

    /// Copies a (corrected) reject XML into the inbox under the next free sequence number of its
    /// name, with a done marker, and records its lineage.
    /// The trailer totals are recomputed from the corrected content (a fixed `hours` value changes
    /// the hash total), so the reviewer only edits values; a file that no longer parses is refused
    /// with its place.
    public func resubmit(_ target: String, at date: Date = Date()) throws -> Resubmission {
        let absolute = URL(fileURLWithPath: target.hasPrefix("/") ? target : zone.root + "/" + target).standardizedFileURL.path
        guard absolute.hasPrefix(zone.rejected + "/"), FileManager.default.fileExists(atPath: absolute), !absolute.hasSuffix(".jsonl"), !absolute.hasSuffix(".txt") else {
            throw RunError.noZone("\(target) is not a reject XML file under \(zone.rejected)")
        }
        let rel = String(absolute.dropFirst(zone.root.count + 1))
        let parts = rel.split(separator: "/").map(String.init)  // rejected, pipeline, run, name
        guard parts.count == 4 else { throw RunError.noZone("\(target) is not rejected/<pipeline>/<run>/<file>") }
        let (run, name) = (parts[2], parts[3])
        let ledger = try Ledger(path: zone.ledger)
        // NAME_..._NNN.xml -> the next NNN nobody used.
        guard let r = name.range(of: #"_[0-9]{3}\.xml$"#, options: .regularExpression) else {
            throw RunError.noZone("\(name) does not end in _NNN.xml; rename it and drop it into the inbox by hand")
        }
        let prefix = String(name[..<r.lowerBound]) + "_"
        var used = Set(try ledger.names(withPrefix: prefix))
        for n in (try? FileManager.default.contentsOfDirectory(atPath: zone.inbox)) ?? [] where n.hasPrefix(prefix) { used.insert(n) }
        let taken = used.compactMap { Int($0.dropFirst(prefix.count).prefix(3)) }
        let next = (taken.max() ?? 0) + 1
        guard next <= 999 else { throw RunError.noZone("no free sequence number left for \(prefix)NNN.xml") }
        let newName = prefix + zeroPad(next, 3) + ".xml"
        let settings = try ZoneSettings.load(root: zone.root)
        let definitions = try PipelineRunner.definitions(zone: zone, settings: settings, override: nil)
        guard let d = definitions.first(where: { $0.name == parts[1] }) else { throw RunError.unknownPipeline("no pipeline '\(parts[1])'") }
        let tally: ExtractSummary
        do { tally = try XMLRecordExtractor(definition: d.extract, schema: nil).tally(path: absolute) } catch let f as FileFailure {
            throw RunError.noZone("\(rel) cannot be resubmitted: \(f.summary). Fix the file and try again.")
        }
        var document = RejectDocument()
        document.counts = tally.counts
        document.sums = tally.sums.mapValues(ExactSum.init)
        let original = try Data(contentsOf: URL(fileURLWithPath: absolute))
        let data = document.retotal(original, d)
        let sha = SHA256Text.hex(data)
        try ledger.recordResubmission(name: newName, sha256: sha, rejectPath: rel, originalName: name, originalRun: run, at: date)
        try AtomicFile.write(data, to: zone.inbox + "/" + newName)
        try AtomicFile.write(Data(), to: zone.inbox + "/" + newName + ".done")
        return Resubmission(inbox_name: newName, from: rel, sha256: sha)
    }

    /// Reject folders of runs older than `days` (by the run id's date); removed only with `apply`.
    public func purge(olderThanDays days: Int, today: BusinessDate, apply: Bool, at date: Date = Date()) throws -> [String] {
        let fm = FileManager.default
        var out: [String] = []
        // The ledger learns of a removal first, so that `verify` does not count its reject files
        // as missing; a zone without a ledger has no manifests to verify.
        let ledger = apply && fm.fileExists(atPath: zone.ledger) ? try Ledger(path: zone.ledger) : nil
        for p in ((try? fm.contentsOfDirectory(atPath: zone.rejected)) ?? []).sorted() {
            for run in ((try? fm.contentsOfDirectory(atPath: zone.rejected + "/" + p)) ?? []).sorted() {
                guard let d = BusinessDate(compact: run.prefix(8)), today.dayNumber - d.dayNumber > days else { continue }
                out.append("rejected/\(p)/\(run)")
                if apply {
                    try ledger?.recordPurge(folder: "rejected/\(p)/\(run)", at: date)
                    try fm.removeItem(atPath: zone.rejected + "/" + p + "/" + run)
                }
            }
            if apply, ((try? fm.contentsOfDirectory(atPath: zone.rejected + "/" + p)) ?? []).isEmpty { rmdir(zone.rejected + "/" + p) }
        }
        return out
    }
}
