@testable import DroplineRuntime
import DroplineTesting
import Foundation
import Testing

/// The reject cut finds element boundaries with `ByteScanner`, passing over bytes that cannot
/// change its state (`skipInert`). Whatever it passes over, it must report the same events at
/// the same offsets as when every byte is fed.
struct ByteScannerTests {
    /// Events with their offsets, every byte fed.
    static func fed(_ bytes: [UInt8]) -> [String] {
        var s = ByteScanner()
        var out: [String] = []
        for (i, b) in bytes.enumerated() {
            let e = s.feed(b)
            if e != .none { out.append("\(i) \(e)") }
        }
        return out
    }

    /// Events with their offsets, inert bytes passed over, in chunks of `chunk` bytes.
    static func skipping(_ bytes: [UInt8], chunk: Int) -> [String] {
        var s = ByteScanner()
        var out: [String] = []
        var offset = 0
        while offset < bytes.count {
            let piece = Array(bytes[offset..<min(offset + chunk, bytes.count)])
            var i = -1
            while true {
                i = piece.withUnsafeBufferPointer { s.skipInert($0, from: i + 1, to: piece.count) }
                if i >= piece.count { break }
                let e = s.feed(piece[i])
                if e != .none { out.append("\(offset + i) \(e)") }
            }
            offset += piece.count
        }
        return out
    }

    static let tricky = """
        <?xml version="1.0" encoding="UTF-8"?>
        <?pi with "quotes" and > inside?>
        <!-- a comment with <Entry id="x"/> and ' and " and > -->
        <TimesheetExport xmlns="urn:example:psa:time:2" exportId='X-1' a = "1>2" b='it"s' c="/>">
          <Timesheet id="TS-1"
                     worker="00012345"	weekStart="2026-11-23" status="approved" >
            <Entry id="TE-1" date="2026-11-24" project="PRJ-1" hours="1.00" category="billable"/>
            <Entry id="TE-2" note='a > b / c' hours="2.00" category="billable" />
            <Entry id="TE-3"><![CDATA[ <not-a-tag attr="> ]]></Entry>
            <Entry/><Entry a="" b=''/>
          </Timesheet>
          <t:Timesheet xmlns:t="urn:example:psa:time:2" id="TS-2"><t:Entry id="TE-4"></t:Entry ></t:Timesheet>
          <Control timesheetCount="2" entryCount="7" totalHours="3.00"/>
        </TimesheetExport>

        """

    @Test(arguments: [1, 2, 3, 7, 64, 1 << 16])
    func passingOverInertBytesReportsWhatFeedingEveryByteDoes(chunk: Int) throws {
        let bytes = Array(Self.tricky.utf8)
        let reference = Self.fed(bytes)
        // Three events an element with content, two an empty one: 10 elements, 5 of them empty.
        #expect(reference.count == 25)
        #expect(Self.skipping(bytes, chunk: chunk) == reference)
    }

    /// Random documents of tag-like pieces, well-formed or not: the same events either way.
    @Test func randomTagSoupGivesTheSameEvents() throws {
        var rng = SeededGenerator(seed: 20261130)
        let pieces = ["<", ">", "/", "\"", "'", "=", " ", "\n", "a", "Entry", "<Entry", "</Entry>", "/>", "<!--", "-->", "<![CDATA[", "]]>", "<?", "?>", "<!DOCTYPE x>", "id=\"1\"", "x='>'"]
        for _ in 0..<300 {
            let doc = (0..<Int.random(in: 1...80, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let bytes = Array(doc.utf8)
            #expect(Self.skipping(bytes, chunk: Int.random(in: 1...17, using: &rng)) == Self.fed(bytes), "\(doc)")
        }
    }
}
