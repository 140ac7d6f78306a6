import Foundation
import Logging

/// Appends one JSON object per line to `logs/dropline.jsonl`. Messages are constant; data lives
/// in metadata (run_id, pipeline, file, stage, counts). Never pass record values or personal
/// data here.
public final class JSONLineSink: @unchecked Sendable {
    let lock = NSLock()
    let handle: FileHandle?
    /// Where log lines are echoed and the progress line drawn for people (stderr on a TTY);
    /// nil: neither.
    let terminal: FileHandle?
    /// A progress line is on the terminal, not yet ended by a newline.
    var progressShown = false

    public convenience init(path: String?, echoToStderr: Bool) {
        self.init(path: path, terminal: echoToStderr ? FileHandle.standardError : nil)
    }

    /// `terminal`: the handle that plays stderr (tests pass a file).
    public init(path: String?, terminal: FileHandle?) {
        if let path {
            handle = try? AtomicFile.openForWriting(path, permissions: 0o640, append: true)
        } else {
            handle = nil
        }
        self.terminal = terminal
    }

    deinit { try? handle?.close() }

    /// Carriage return, then erase to the end of the line: the progress line's place, emptied.
    static let clearLine = "\r\u{1B}[K"

    func write(_ line: String, human: String) {
        lock.lock()
        defer { lock.unlock() }
        // A log that cannot be written (disk full) must not stop or crash the run.
        try? handle?.write(contentsOf: Data((line + "\n").utf8))
        guard let terminal else { return }
        // A log line replaces the progress line; the next update draws it again below.
        let clear = progressShown ? Self.clearLine : ""
        progressShown = false
        try? terminal.write(contentsOf: Data((clear + human + "\n").utf8))
    }

    /// Draws `text` as the progress line (overwriting the previous one); nothing without a
    /// terminal. Never goes to the log file.
    func progress(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        guard let terminal else { return }
        progressShown = true
        try? terminal.write(contentsOf: Data((Self.clearLine + text).utf8))
    }

    /// Erases the progress line, if one is shown.
    func endProgress() {
        lock.lock()
        defer { lock.unlock() }
        guard let terminal, progressShown else { return }
        progressShown = false
        try? terminal.write(contentsOf: Data(Self.clearLine.utf8))
    }

    /// Whether anything is drawn for people at all.
    var hasTerminal: Bool { terminal != nil }
}

public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let sink: JSONLineSink
    let clock: @Sendable () -> Date

    public init(sink: JSONLineSink, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.sink = sink
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var object: [String: Any] = [
            "timestamp": ISO8601DateFormatter().string(from: clock()),
            "level": event.level.rawValue,
            "event": event.message.description,
        ]
        for (k, v) in merged { object[k] = Self.plain(v) }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        sink.write(String(decoding: data, as: UTF8.self), human: "\(event.level): \(event.message) \(fields)")
    }

    static func plain(_ v: Logger.MetadataValue) -> Any {
        switch v {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let a): a.map(plain)
        case .dictionary(let d): d.mapValues(plain)
        }
    }
}
