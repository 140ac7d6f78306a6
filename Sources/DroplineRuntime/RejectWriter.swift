import DroplineCore
import Foundation

/// Streams rejections of one input file to `rejected/<pipeline>/<run-id>/<name>.rejects.jsonl`
/// (via a partial file in work/, so a crash leaves no half reject file). Folder 0700, file 0600:
/// rejects may hold personal data.
final class RejectWriter {
    let zone: DropZone
    let pipeline: String
    let runID: String
    let fileName: String
    let dryRun: Bool
    private(set) var count = 0
    /// Lines by primary reason, for the folder's README (which then need not read them back).
    private(set) var byReason: [String: Int] = [:]
    var handle: FileHandle?
    /// Lines not yet written: written 64 KiB at a time (a write per line was a system call per
    /// rejected record).
    var pending: [UInt8] = []
    static let flushBytes = 1 << 16
    var partial: String { zone.work + "/" + runID + "/" + fileName + ".rejects.jsonl.partial" }

    init(zone: DropZone, pipeline: String, runID: String, fileName: String, dryRun: Bool) {
        self.zone = zone
        self.pipeline = pipeline
        self.runID = runID
        self.fileName = fileName
        self.dryRun = dryRun
    }

    /// One line of the file, as `JSONEncoder` with sorted keys and unescaped slashes writes it.
    struct Line: Codable {
        var format_version = 1
        var record_type: String
        var key: String?
        var line: Int
        var primary_reason: String
        var checks: [RecordIssue]

        init(_ r: Rejection) {
            record_type = r.recordType
            key = r.key
            line = r.line
            primary_reason = r.primary.rawValue
            checks = r.issues
        }

        /// Appends the line's JSON to `out`: the same bytes as `JSONEncoder` gives (a test
        /// compares them), written directly, since the encoder costs several microseconds a line.
        /// The buffer goes in and out of the helpers as an inout parameter: captured by nested
        /// functions, every append paid a dynamic exclusivity check and a uniqueness check.
        func appendJSON(to out: inout [UInt8]) {
            out.append("{\"checks\":[")
            for (i, c) in checks.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "{"))
                var first = true
                Self.field("actual", c.actual, first: &first, &out)
                Self.field("code", c.code.rawValue, first: &first, &out)
                Self.field("expected", c.expected, first: &first, &out)
                Self.field("field", c.field, first: &first, &out)
                Self.field("hint", c.hint, first: &first, &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append("],\"format_version\":")
            out.append(contentsOf: String(format_version).utf8)
            if let key {
                out.append(",\"key\":")
                Self.string(key, &out)
            }
            out.append(",\"line\":")
            out.append(contentsOf: String(line).utf8)
            out.append(",\"primary_reason\":")
            Self.string(primary_reason, &out)
            out.append(",\"record_type\":")
            Self.string(record_type, &out)
            out.append(UInt8(ascii: "}"))
        }

        /// A JSON string. The runs between characters that need escaping are copied whole:
        /// appended byte by byte, a reject line's messages and hints cost more than the rest of it.
        static func string(_ s: String, _ out: inout [UInt8]) {
            out.append(UInt8(ascii: "\""))
            var s = s
            s.withUTF8 { u in
                var start = 0
                for i in u.indices {
                    let b = u[i]
                    guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i]))
                    start = i + 1
                    switch b {
                    case UInt8(ascii: "\""): out.append("\\\"")
                    case UInt8(ascii: "\\"): out.append("\\\\")
                    case 0x0A: out.append("\\n")
                    case 0x0D: out.append("\\r")
                    case 0x09: out.append("\\t")
                    case 0x08: out.append("\\b")
                    case 0x0C: out.append("\\f")
                    default:
                        out.append("\\u00")
                        let hex: StaticString = "0123456789abcdef"
                        out.append(hex.utf8Start[Int(b >> 4)])
                        out.append(hex.utf8Start[Int(b & 15)])
                    }
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: u[start...]))
            }
            out.append(UInt8(ascii: "\""))
        }

        static func field(_ name: StaticString, _ value: String?, first: inout Bool, _ out: inout [UInt8]) {
            guard let value else { return }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(name)
            out.append("\":")
            string(value, &out)
        }
    }

    func append(_ r: Rejection) throws {
        count += 1
        guard !dryRun else { return }
        byReason[r.primary.rawValue, default: 0] += 1
        if handle == nil {
            try DropZone.makePrivateFolder(zone.work + "/" + runID)
            handle = try AtomicFile.openForWriting(partial, permissions: 0o600, append: false)
            pending.reserveCapacity(Self.flushBytes + 4096)
        }
        Line(r).appendJSON(to: &pending)
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= Self.flushBytes { try flush() }
    }

    func flush() throws {
        guard let handle, !pending.isEmpty else { return }
        try handle.write(contentsOf: pending)
        pending.removeAll(keepingCapacity: true)
    }

    /// Makes every line so far durable in the partial file: called before the load commits, so
    /// that a run dying after the commit leaves the whole list for recovery to put in place.
    func seal() throws {
        guard let handle else { return }
        try flush()
        try handle.synchronize()
    }

    func finish() throws {
        guard let handle else { return }
        try seal()
        try handle.close()
        self.handle = nil
        try zone.placeReject(partial, pipeline: pipeline, runID: runID, as: fileName + ".rejects.jsonl")
    }

    func discard() {
        pending.removeAll()
        try? handle?.close()
        handle = nil
        unlink(partial)
        count = 0
        byReason = [:]
    }
}
