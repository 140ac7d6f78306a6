@testable import DroplineRuntime
import DroplineCore
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

    /// `plainEnd` finds an element's end tag past plain content only: anything that could hide
    /// or fake one (a comment, CDATA, a processing instruction, an element of the same name)
    /// or an end tag cut off by the chunk gives nil, for the bytes to be fed.
    @Test func anEndTagIsFoundPastPlainContentOnly() throws {
        func end(_ content: String, _ name: String = "Timesheet", cut: Int = 0) -> Int? {
            let bytes = Array(content.utf8)
            return bytes.withUnsafeBufferPointer { ByteScanner.plainEnd($0, from: 0, to: bytes.count - cut, name: Array(name.utf8)) }
        }
        let plain = #"<Entry id="TE-1" note='a > b / c'/><TimesheetNote>x</TimesheetNote></Timesheet>"#
        #expect(end(plain) == plain.utf8.count - 1)
        #expect(end(#"<Entry/></Timesheet  ><Timesheet>"#) == 21)
        #expect(end(#"<t:Entry/></t:Timesheet>"#, "t:Timesheet") == 23)
        #expect(end(#"<Entry/></Timesheet>"#, "t:Timesheet") == nil)
        #expect(end(plain, cut: 1) == nil)
        #expect(end(#"<Entry/></Timesheet"#) == nil)
        for hiding in ["<!-- </Timesheet> -->", "<![CDATA[</Timesheet>]]>", "<?pi </Timesheet>?>", "<Timesheet></Timesheet>", "<Timesheet/>"] {
            #expect(end("<Entry/>\(hiding)</Timesheet>") == nil, "\(hiding)")
        }
    }

    /// The cut passes over a top-level element none of whose records it wants: it finds the
    /// same elements, nested ranges and layout as when every byte is fed, whatever the elements
    /// hold and wherever the 64 KiB chunks end.
    @Test func passingOverUnwantedUnitsFindsWhatFeedingThemFinds() throws {
        let d = try PipelineLoader().load(file: TestPaths.pipelines + "/time_entries.yaml")
        let units = [
            #"<Timesheet id="TS" worker="1" weekStart="2026-11-23" status="approved"><Entry id="TE-1" hours="1.00"/><Entry id="TE-2" note='a > b'/></Timesheet>"#,
            #"<Timesheet id="TS">\#n    <Entry id="TE-1"/>\#n    <!-- </Timesheet> <Entry/> -->\#n    <Entry id="TE-2"/>\#n  </Timesheet>"#,
            #"<Timesheet id="TS"><Entry id="TE-1"><![CDATA[</Timesheet><Entry/>]]></Entry><Entry/></Timesheet >"#,
            #"<Timesheet id="TS"><?pi </Timesheet>?><Entry/></Timesheet>"#,
            #"<Timesheet id="TS"><Timesheet><Entry/></Timesheet><Entry/></Timesheet>"#,
            #"<t:Timesheet xmlns:t="urn:example:psa:time:2"><t:Entry id="TE-1"></t:Entry ><t:Entry/></t:Timesheet>"#,
            #"<Timesheet id="TS"/>"#,
            #"<Timesheet></Timesheet>"#,
            #"<TimesheetX><Entry/></TimesheetX>"#,
        ]
        var rng = SeededGenerator(seed: 20261201)
        for _ in 0..<12 {
            var doc = #"<?xml version="1.0" encoding="UTF-8"?>\#n<TimesheetExport xmlns="urn:example:psa:time:2" exportId="X-1">\#n"#
            let count = Int.random(in: 1...1500, using: &rng)
            for _ in 0..<count { doc += "  " + units.randomElement(using: &rng)! + "\n" }
            doc += #"  <Control timesheetCount="1" entryCount="1" totalHours="1.00"/>\#n</TimesheetExport>\#n"#
            func scanned(passOver: Bool) throws -> [String] {
                var document = RejectDocument()
                // A third of the elements wanted: whole, or some of their first three nested ones.
                for unit in 0..<count where Int.random(in: 0..<3, using: &rng) == 0 {
                    if Bool.random(using: &rng) {
                        try document.positions.append(Int32(unit), -1)
                    } else {
                        for child in 0..<3 where Bool.random(using: &rng) { try document.positions.append(Int32(unit), Int32(child)) }
                    }
                }
                var found: [String] = []
                let layout = try document.scan(InputStream(data: Data(doc.utf8)), d, passOver: passOver, root: { found.append("root \($0)") }, unit: { found.append("\($0)") })
                return found + ["\(String(describing: layout))"]
            }
            // The same random positions both ways.
            let seed = rng
            let fed = try scanned(passOver: false)
            rng = seed
            let passed = try scanned(passOver: true)
            // Told by the first difference (all of two long lists makes an unreadable failure).
            let differ = zip(passed, fed).first { $0.0 != $0.1 }
            #expect(differ == nil && passed.count == fed.count, "\(doc.utf8.count) bytes, \(passed.count) found against \(fed.count), first difference: \(differ.map { "\($0.0) against \($0.1)" } ?? "none")")
            #expect(fed.count > 2 || count < 10)
        }
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
