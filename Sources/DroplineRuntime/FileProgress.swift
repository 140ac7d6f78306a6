import Foundation

/// The progress line of one file being loaded, for a person watching `dropline run` on a TTY:
/// how far the parser is through the file, records decided, speed and time left. Drawn at most
/// twice a second, first after a second (a small file never shows one), and erased when the
/// file is done; it never reaches the log file, and it names no record value.
final class FileProgress {
    let sink: JSONLineSink
    let name: String
    let totalBytes: Int64
    let start: Date
    var nextDraw: Date

    static let firstDrawAfter: TimeInterval = 1
    static let drawEvery: TimeInterval = 0.5

    /// Nil when nobody watches (no terminal): then the run pays nothing for it.
    init?(sink: JSONLineSink, name: String, totalBytes: Int64, now: Date = Date()) {
        guard sink.hasTerminal else { return nil }
        self.sink = sink
        self.name = name
        self.totalBytes = totalBytes
        start = now
        nextDraw = now.addingTimeInterval(Self.firstDrawAfter)
    }

    /// Called after each batch of records: `bytes` read by the parser so far, `records` decided.
    func update(bytes: Int, records: Int, now: Date = Date()) {
        guard now >= nextDraw else { return }
        nextDraw = now.addingTimeInterval(Self.drawEvery)
        sink.progress(Self.text(name: name, bytes: Int64(bytes), totalBytes: totalBytes, records: records, elapsed: now.timeIntervalSince(start)))
    }

    func finish() { sink.endProgress() }

    /// `PSA_TIMESHEETS_PSA01_20261127_001.xml 43% of 1.0 GB, 3215004 records, 41 MB/s, about 35 s left`;
    /// a long file name is shortened so that the line fits a terminal of 100 columns.
    static func text(name: String, bytes: Int64, totalBytes: Int64, records: Int, elapsed: TimeInterval) -> String {
        let shown = name.count > 44 ? name.prefix(43) + "…" : Substring(name)
        let done = min(max(bytes, 0), totalBytes)
        let percent = totalBytes > 0 ? Int(done * 100 / totalBytes) : 100
        var text = "\(shown) \(percent)% of \(size(totalBytes)), \(records) records"
        guard elapsed > 0, done > 0 else { return text }
        let rate = Double(done) / elapsed
        text += ", \(size(Int64(rate)))/s"
        let left = Double(totalBytes - done) / rate
        if left >= 1 { text += ", about \(duration(left)) left" }
        return text
    }

    /// Bytes in the largest unit that keeps a number of at least 1 (binary multiples, one decimal).
    static func size(_ bytes: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }
}
