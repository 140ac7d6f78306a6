import DroplineCore
import DroplineTesting
import DroplineXML
import Foundation
import Testing

/// `RepeatedValueScan` reads entry ids from the bytes of exports without parsing them, for a dry
/// run that keeps only the postings of ids given more than once. It may name too many, never too
/// few: checked against libxml2 (`XMLAttributeScan`, which parses) on seeded exports with what
/// could mislead a byte scanner (comments, CDATA and processing instructions holding tags,
/// references and whitespace in ids, prefixes, `>` in values, tags cut by its read buffer); and
/// it gives up (nil) on what it cannot read for sure.
struct RepeatedValueScanTests {
    static let ns = "urn:example:psa:time:2"

    static func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "dropline-repeats-" + UUID().uuidString + ".xml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func candidates(_ paths: [String]) -> Set<String>? {
        RepeatedValueScan.candidates(files: paths, element: "Entry", attribute: "id", expectedValues: 200_000)
    }

    /// The entry ids libxml2 reads, by key.
    static func parsedIDs(_ path: String) throws -> [String] {
        var ids: [String] = []
        try XMLAttributeScan.forEachElement(inFileAt: path, at: [XMLName(namespace: ns, local: "TimesheetExport"), XMLName(namespace: ns, local: "Timesheet"), XMLName(namespace: ns, local: "Entry")],
                                            attribute: XMLName(namespace: nil, local: "id")) { id in
            if let id { ids.append(RepeatedValueScan.key(id)) }
        }
        return ids
    }

    /// An export of `entries` (ids as written), in timesheets of up to five, with what a byte
    /// scanner could stumble on between them.
    static func export(_ entries: [String], prefix: String, using g: inout SeededGenerator) -> String {
        let p = prefix.isEmpty ? "" : prefix + ":"
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?note a <tag> in a processing instruction?>\n"
        out += "<\(p)TimesheetExport xmlns\(prefix.isEmpty ? "" : ":" + prefix)=\"\(ns)\" exportId=\"X\">\n"
        var i = 0
        while i < entries.count {
            out += "  <\(p)Timesheet id=\"TS-\(i)\" note=\"a > b\">\n"
            for id in entries[i..<min(i + 5, entries.count)] {
                switch Int.random(in: 0..<200, using: &g) {
                case 0..<6: out += "    <!-- <\(p)Entry id=\" -->\n"
                case 6..<12: out += "    <![CDATA[ <\(p)Entry id=\"CDATA-\(i)\"/> ]]>\n"
                case 12: out += "    <!-- " + String(repeating: "padding <Entry id='P'/> ", count: Int.random(in: 1...3000, using: &g)) + "-->\n"
                default: break
                }
                let quote = Bool.random(using: &g) ? "\"" : "'"
                out += "    <\(p)Entry date=\"2026-11-23\"\n      id=\(quote)\(id)\(quote) hours=\"8.00\" remark=\"x > y\"" + (Bool.random(using: &g) ? "/>\n" : "></\(p)Entry>\n")
            }
            out += "  </\(p)Timesheet>\n"
            i += 5
        }
        return out + "  <\(p)Control entryCount=\"\(entries.count)\"/>\n</\(p)TimesheetExport>\n"
    }

    /// An id as an export may write it: with a character reference, an entity or spaces.
    static func spelled(_ id: String, using g: inout SeededGenerator) -> String {
        switch Int.random(in: 0..<6, using: &g) {
        case 0: id.replacingOccurrences(of: "-", with: "&#x2D;")
        case 1: id.replacingOccurrences(of: "-", with: "&#45;")
        case 2: " \(id) "
        case 3: id.replacingOccurrences(of: "E", with: "&#69;")
        default: id
        }
    }

    @Test func everyRepeatedIDIsACandidate() throws {
        var g = SeededGenerator(seed: 2026_12_01)
        for round in 0..<6 {
            var paths: [String] = []
            defer { for p in paths { unlink(p) } }
            // Ids drawn with repeats, within and across two exports of 1.5 to 5 MB: the scan
            // reads 1 MiB at a time, and cuts a tag (mostly an entry's) at each read's end.
            let entries = Int.random(in: 15_000...50_000, using: &g)
            let pool = (0..<entries).map { "TE-\(round)-\($0)" }
            for file in 0..<2 {
                let ids = (0..<entries).map { _ in Self.spelled(pool.randomElement(using: &g)!, using: &g) }
                paths.append(try Self.write(Self.export(ids, prefix: file == 0 ? "" : "t", using: &g)))
            }
            #expect(paths.allSatisfy { ((try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0) > 1 << 20 })
            var count: [String: Int] = [:]
            for p in paths { for id in try Self.parsedIDs(p) { count[id, default: 0] += 1 } }
            let repeated = Set(count.filter { $0.value > 1 }.keys)
            let found = try #require(Self.candidates(paths))
            #expect(repeated.isSubset(of: found), "missed: \(repeated.subtracting(found).sorted().prefix(5))")
            // Not everything: ids given once are candidates only as the filter's rare "maybe"
            // (and the CDATA and comment ids, which the scan reads as it would any tag).
            let once = Set(count.filter { $0.value == 1 }.keys)
            #expect(once.intersection(found).count <= max(2, once.count / 20))
        }
    }

    /// A plain export of entries with these ids as written.
    static func plain(_ ids: [String]) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TimesheetExport xmlns=\"\(ns)\"><Timesheet id=\"TS-1\">\n"
            + ids.map { "<Entry id=\"\($0)\" hours=\"8.00\"/>\n" }.joined() + "</Timesheet></TimesheetExport>\n"
    }

    /// Exports with bytes changed at random (markup characters mostly): the scan ends on each,
    /// and on each that libxml2 reads whole its candidates hold every id libxml2 reads twice.
    @Test func damagedExportsEndAndMissNothingLibxml2Reads() throws {
        var g = SeededGenerator(seed: 2026_12_02)
        let clean = Array(Self.export((0..<40).map { "TE-\($0 % 25)" }, prefix: "t", using: &g).utf8)
        let path = NSTemporaryDirectory() + "dropline-repeats-damaged-" + UUID().uuidString + ".xml"
        defer { unlink(path) }
        let marks = Array("<>\"'&;!-[]?/=: \n#x".utf8)
        var parsed = 0
        for _ in 0..<400 {
            var bytes = clean
            for _ in 0..<Int.random(in: 1...4, using: &g) {
                let at = Int.random(in: 0..<bytes.count, using: &g)
                switch Int.random(in: 0..<4, using: &g) {
                case 0: bytes.removeSubrange(at...)
                case 1: bytes.remove(at: at)
                default: bytes[at] = marks.randomElement(using: &g)!
                }
                if bytes.isEmpty { break }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let found = Self.candidates([path])
            guard let ids = try? Self.parsedIDs(path) else { continue }
            parsed += 1
            var count: [String: Int] = [:]
            for id in ids { count[id, default: 0] += 1 }
            if let found { #expect(Set(count.filter { $0.value > 1 }.keys).isSubset(of: found), "\(String(decoding: bytes, as: UTF8.self))") }
        }
        #expect(parsed > 20)
    }

    @Test func idsAreComparedAsLibxml2ReadsThem() throws {
        let path = try Self.write(Self.plain(["TE-1", "TE&#x2D;1", "TE-2", " TE-2\t", "TE-3", "TE&amp;3", "TE&#38;3"]))
        defer { unlink(path) }
        #expect(try Self.parsedIDs(path) == ["TE-1", "TE-1", "TE-2", "TE-2", "TE-3", "TE&3", "TE&3"])
        #expect(try Self.candidates([path]) == ["TE-1", "TE-2", "TE&3"])
        #expect(RepeatedValueScan.key(" TE-2\t") == "TE-2")
    }

    /// Each byte of a value is read once: a value of a million `&` (or of one `&` and a million
    /// digits) is read as fast as any other (reading up to a `;` from each `&` took hours).
    @Test func aValueOfAmpersandsIsReadOnce() throws {
        let path = try Self.write(Self.plain([String(repeating: "&", count: 1 << 20), "&#" + String(repeating: "0", count: 1 << 20) + "65;", "A"]))
        defer { unlink(path) }
        #expect(try Self.candidates([path]) == ["A"])
    }

    @Test func aTagInACommentDoesNotHideTheNextOne() throws {
        let text = """
            <?xml version="1.0"?>
            <TimesheetExport xmlns="\(Self.ns)"><Timesheet id="TS-1">
            <!-- <Entry id=" --><Entry id="A"/><Entry id="A"/>
            <![CDATA[ <Entry id=" ]]><Entry id="B"/><?pi <Entry id=" ?><Entry id="B"/>
            </Timesheet></TimesheetExport>
            """
        let path = try Self.write(text)
        defer { unlink(path) }
        #expect(try #require(Self.candidates([path])).isSuperset(of: ["A", "B"]))
    }

    @Test(arguments: [
        // A DOCTYPE may declare entities and default attributes: given up.
        "<?xml version=\"1.0\"?><!DOCTYPE TimesheetExport [<!ENTITY e \"A\">]><TimesheetExport><Entry id=\"&e;\"/><Entry id=\"A\"/></TimesheetExport>",
        // Other bytes for the same characters.
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><TimesheetExport><Entry id=\"A\"/></TimesheetExport>",
        "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-16\"?><TimesheetExport/>",
        // Cut short, or a tag it cannot read.
        "<?xml version=\"1.0\"?><TimesheetExport><Entry id=\"A",
        "<?xml version=\"1.0\"?><TimesheetExport><Entry id=A/></TimesheetExport>",
        "<?xml version=\"1.0\"?><TimesheetExport><Entry id=\"A\" / ></TimesheetExport>",
        "<?xml version=\"1.0\"?><TimesheetExport><!-- never closed <Entry id=\"A\"/></TimesheetExport>",
    ])
    func givesUpOnWhatItCannotReadForSure(_ text: String) throws {
        let path = try Self.write(text)
        defer { unlink(path) }
        #expect(Self.candidates([path]) == nil)
    }

    @Test func givesUpOnAFileItCannotOpenOrATooLongTag() throws {
        #expect(Self.candidates(["/nonexistent/dropline/export.xml"]) == nil)
        let long = "<?xml version=\"1.0\"?><TimesheetExport><Entry id=\"A\" note=\"" + String(repeating: "x", count: 9 << 20) + "\"/></TimesheetExport>"
        let path = try Self.write(long)
        defer { unlink(path) }
        #expect(Self.candidates([path]) == nil)
    }

    @Test func tooManyCandidatesIsNoAnswer() throws {
        let path = try Self.write(Self.plain((0..<50).flatMap { ["TE-\($0)", "TE-\($0)"] }))
        defer { unlink(path) }
        #expect(RepeatedValueScan.candidates(files: [path], element: "Entry", attribute: "id", expectedValues: 100, maxCandidates: 49) == nil)
        #expect(RepeatedValueScan.candidates(files: [path], element: "Entry", attribute: "id", expectedValues: 100, maxCandidates: 50)?.count == 50)
    }
}
