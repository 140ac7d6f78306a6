import DroplineCore
import Foundation

/// `README.txt` in a reject folder, in plain words for the finance or delivery reviewer: what
/// was rejected, what each reason means and how to fix it, how to resubmit. Rewritten whenever
/// the folder gains a file; holds no record values.
///
/// One per run (`RunContext.readmes`): it remembers what each reject file of a folder holds, so
/// that rewriting the README reads only the files new since the last time. Reading them all again
/// for each file made a night of many files quadratic: with 800 timesheet files, half the run.
/// A reject file is never changed once in its folder (it is placed by renaming a whole file, and
/// the run holds the zone's lock), so what was read stays true for the run.
final class RejectReadme: @unchecked Sendable {
    /// What one `.rejects.jsonl` holds, and whether its XML copy was seen beside it (which,
    /// once placed, stays).
    struct Tally {
        var records = 0
        var byReason: [String: Int] = [:]
        var hasXML = false
    }

    /// Guards `tallies` and `filesRead` (the run uses one thread at a time here; the lock keeps
    /// that true should it not).
    private let lock = NSLock()
    /// By path of the `.rejects.jsonl`.
    private var tallies: [String: Tally] = [:]
    /// Reject files read so far (each once per run).
    private(set) var filesRead = 0

    static let reasonKey = Array("\"primary_reason\":\"".utf8)

    /// The value of `"primary_reason":"..."` in one JSON line, if any.
    static func primaryReason(_ line: UnsafeBufferPointer<UInt8>) -> String? {
        let key = reasonKey
        guard line.count > key.count else { return nil }
        var i = 0
        while i + key.count <= line.count {
            if line[i] == key[0], (0..<key.count).allSatisfy({ line[i + $0] == key[$0] }) {
                var j = i + key.count
                let start = j
                while j < line.count, line[j] != UInt8(ascii: "\"") { j += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: line[start..<j]), as: UTF8.self)
            }
            i += 1
        }
        return nil
    }

    /// What the reject file `name` of `folder` holds, known to the writer that wrote it: not
    /// read back when the README is written.
    func remember(folder: String, name: String, records: Int, byReason: [String: Int]) {
        lock.lock()
        defer { lock.unlock() }
        tallies[folder + "/" + name] = Tally(records: records, byReason: byReason)
    }

    /// The tally of one reject file: remembered, or read (streamed line by line: a night's
    /// reject file can be large).
    private func tally(folder: String, name: String) -> Tally {
        let path = folder + "/" + name
        var t: Tally
        if let known = tallies[path] {
            t = known
        } else {
            t = Tally()
            try? LineReader.forEachLine(path: path) { line in
                guard !line.isEmpty else { return }
                t.records += 1
                if let code = Self.primaryReason(line) { t.byReason[code, default: 0] += 1 }
            }
            filesRead += 1
        }
        if !t.hasXML { t.hasXML = FileManager.default.fileExists(atPath: String(path.dropLast(".rejects.jsonl".count))) }
        tallies[path] = t
        return t
    }

    func write(folder: String, pipeline: String, runID: String, runDate: BusinessDate, zoneRoot: String) throws {
        lock.lock()
        defer { lock.unlock() }
        var perFile: [(name: String, tally: Tally)] = []
        var byReason: [String: Int] = [:]
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() where name.hasSuffix(".rejects.jsonl") {
            let t = tally(folder: folder, name: name)
            byReason.merge(t.byReason, uniquingKeysWith: +)
            perFile.append((String(name.dropLast(".rejects.jsonl".count)), t))
        }
        let rel = String(folder.dropFirst(zoneRoot.count + 1))
        var text = """
            Rejected records: pipeline \(pipeline), run \(runID) (run date \(runDate.iso))

            Files with rejected records:

            """
        for (name, t) in perFile {
            let n = t.records
            text += "  \(name): \(n) record\(n == 1 ? "" : "s") rejected\(t.hasXML ? "" : " (no XML copy; see the .rejects.jsonl)")\n"
        }
        text += "\nWhy (by the first reason of each record):\n\n"
        for (code, n) in byReason.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
            let reason = ReasonCode(rawValue: code)
            text += "  \(n) x \(code): \(reason?.meaning ?? "see docs/error-codes.md")\n"
            text += "      What to do: \(reason?.remedy ?? "Correct the value and resubmit.")\n"
        }
        text += """

            How to fix and resubmit:

              1. Open the XML file named like the original export. It has the same layout, header and
                 encoding as what the sender delivered, but holds only the rejected records (a
                 timesheet is kept around its rejected entries) and totals recomputed for them.
              2. <name>.rejects.jsonl lists, per record, its key, its line in the original file, the
                 first reason and every failed check with field, expected and actual value.
              3. Correct the values in the XML file with a text editor. Leave the totals in the last
                 line alone: resubmitting recomputes them for what the file then holds.
              4. Resubmit:  dropline rejects resubmit \(rel)/<name> --root \(zoneRoot)
                 The file goes into the inbox under a new sequence number; its export id ends in
                 -R<NNN>, so the duplicate checks take it as a new export, and its lineage to the
                 original file and run is recorded. Records still wrong are rejected again with their
                 reasons; records that were already posted are never posted twice.

            This folder may contain personal data (names, notes). Keep it private; purge old folders
            with: dropline rejects purge --older-than 90d --root \(zoneRoot)

            """
        try AtomicFile.write(Data(text.utf8), to: folder + "/README.txt", permissions: 0o600)
    }
}
