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
    var handle: FileHandle?
    var partial: String { zone.work + "/" + runID + "/" + fileName + ".rejects.jsonl.partial" }
    let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    init(zone: DropZone, pipeline: String, runID: String, fileName: String, dryRun: Bool) {
        self.zone = zone
        self.pipeline = pipeline
        self.runID = runID
        self.fileName = fileName
        self.dryRun = dryRun
    }

    struct Line: Codable {
        var format_version = 1
        var record_type: String
        var key: String?
        var line: Int
        var primary_reason: String
        var checks: [RecordIssue]
    }

    func append(_ r: Rejection) throws {
        count += 1
        guard !dryRun else { return }
        if handle == nil {
            try DropZone.makePrivateFolder(zone.work + "/" + runID)
            handle = try AtomicFile.openForWriting(partial, permissions: 0o600, append: false)
        }
        let line = Line(record_type: r.recordType, key: r.key, line: r.line, primary_reason: r.primary.rawValue, checks: r.issues)
        try handle?.write(contentsOf: try encoder.encode(line) + Data("\n".utf8))
    }

    func finish() throws {
        guard let handle else { return }
        try handle.synchronize()
        try handle.close()
        self.handle = nil
        let dir = zone.rejected + "/" + pipeline + "/" + runID
        try DropZone.makePrivateFolder(dir)
        guard rename(partial, dir + "/" + fileName + ".rejects.jsonl") == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    func discard() {
        try? handle?.close()
        handle = nil
        unlink(partial)
        count = 0
    }
}
