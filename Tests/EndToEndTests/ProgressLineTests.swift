import DroplineCore
import DroplineExtract
@testable import DroplineRuntime
import DroplineTesting
import Foundation
import Testing

/// The progress line `dropline run` draws on a terminal while a large file loads.
struct ProgressLineTests {
    @Test func theLineSaysHowFarHowFastAndHowLong() {
        let mb: Int64 = 1 << 20
        #expect(FileProgress.text(name: "PSA_TIMESHEETS_PSA01_20261127_001.xml", bytes: 43 * mb, totalBytes: 100 * mb, records: 321_004, elapsed: 2)
            == "PSA_TIMESHEETS_PSA01_20261127_001.xml 43% of 100.0 MB, 321004 records, 21.5 MB/s, about 3 s left")
        // Nothing read yet: no speed to tell.
        #expect(FileProgress.text(name: "a.xml", bytes: 0, totalBytes: 2048, records: 0, elapsed: 1) == "a.xml 0% of 2.0 KB, 0 records")
        // Read to the end: no time left to announce.
        #expect(FileProgress.text(name: "a.xml", bytes: 3 * mb, totalBytes: 3 * mb, records: 9, elapsed: 2) == "a.xml 100% of 3.0 MB, 9 records, 1.5 MB/s")
        // A long name is shortened to fit one line of a narrow terminal.
        let long = String(repeating: "X", count: 60) + ".xml"
        let line = FileProgress.text(name: long, bytes: 1, totalBytes: 4 << 30, records: 1, elapsed: 600)
        #expect(line.hasPrefix(String(repeating: "X", count: 43) + "… 0% of 4.0 GB, 1 records"), "\(line)")
        #expect(FileProgress.duration(59) == "59 s" && FileProgress.duration(61) == "1 min 1 s" && FileProgress.duration(7322) == "2 h 2 min")
    }

    @Test func drawnOnlyAfterASecondThenTwiceASecondAndErasedByLogLinesAndAtTheEnd() throws {
        let scratch = try TemporaryDropZone()
        let folder = scratch.zone.root
        #expect(FileManager.default.createFile(atPath: folder + "/tty", contents: nil))
        let tty = try #require(FileHandle(forWritingAtPath: folder + "/tty"))
        let sink = JSONLineSink(path: folder + "/log.jsonl", terminal: tty)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let progress = try #require(FileProgress(sink: sink, name: "f.xml", totalBytes: 1000, now: t0))
        progress.update(bytes: 100, records: 1, now: t0.addingTimeInterval(0.9))  // too early
        progress.update(bytes: 200, records: 2, now: t0.addingTimeInterval(1.0))
        progress.update(bytes: 300, records: 3, now: t0.addingTimeInterval(1.2))  // within half a second
        sink.write("{}", human: "info: a log line")
        progress.update(bytes: 600, records: 6, now: t0.addingTimeInterval(1.5))
        progress.finish()
        progress.finish()  // nothing left to erase
        try tty.close()
        let clear = "\r\u{1B}[K"
        let shown = try String(contentsOfFile: folder + "/tty", encoding: .utf8)
        #expect(shown == clear + "f.xml 20% of 1000 B, 2 records, 200 B/s, about 4 s left"
            + clear + "info: a log line\n"
            + clear + "f.xml 60% of 1000 B, 6 records, 400 B/s, about 1 s left"
            + clear)
        // The log file has the log line only.
        #expect(try String(contentsOfFile: folder + "/log.jsonl", encoding: .utf8) == "{}\n")
    }

    @Test func withoutATerminalThereIsNoProgress() throws {
        let sink = JSONLineSink(path: nil, terminal: nil)
        #expect(FileProgress(sink: sink, name: "f.xml", totalBytes: 10) == nil)
    }

    /// The parser's position travels with each batch of records: it only grows, and the last
    /// batch ends at the root's closing tag.
    @Test func batchesCarryHowFarTheParserHasRead() throws {
        let scratch = try TemporaryDropZone()
        let folder = scratch.zone.root
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <TimesheetExport xmlns="urn:example:psa:time:2" exportId="X-1" sourceSystem="PSA" generatedAt="2026-11-27T23:30:00Z" businessDate="2026-11-27" schemaVersion="2">

            """
        for t in 0..<2000 {
            xml += "  <Timesheet id=\"TS-\(t)\" worker=\"00012345\" weekStart=\"2026-11-23\" status=\"approved\">\n"
            xml += "    <Entry id=\"TE-\(t)\" date=\"2026-11-23\" project=\"PRJ-10042\" task=\"T-01\" hours=\"8.00\" category=\"billable\"/>\n  </Timesheet>\n"
        }
        xml += "  <Control timesheetCount=\"2000\" entryCount=\"2000\" totalHours=\"16000.00\"/>\n</TimesheetExport>\n"
        let path = folder + "/PSA_TIMESHEETS_PSA01_20261127_001.xml"
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        let d = try PipelineLoader().load(file: TestPaths.pipelines + "/time_entries.yaml")
        var positions: [Int] = []
        var records = 0
        let summary = try XMLRecordExtractor(definition: d.extract, schema: nil).runConcurrently(path: path, prepare: { _ in 0 }, header: { _ in }, records: { batch in
            positions.append(batch.bytesRead)
            batch.forEach { _, _ in records += 1 }
        })
        #expect(summary.counts == ["timesheet": 2000, "entry": 2000] && records == 4000)
        #expect(positions.count == 4)  // 1,024 records a batch
        #expect(positions == positions.sorted() && positions[0] > 0)
        let size = xml.utf8.count
        let lastTimesheetEnd = size - xml.components(separatedBy: "</Timesheet>").last!.utf8.count
        // libxml2 counts what it consumed, up to the end of the last unit it expanded.
        #expect(positions.last! >= lastTimesheetEnd && positions.last! <= size, "\(positions) \(lastTimesheetEnd) \(size)")
    }
}
