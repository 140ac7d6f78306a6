import DroplineCore
import DroplineExtract
import DroplineTesting
import DroplineXML
import Foundation
import Testing

/// A class, so that the files a test writes are removed when it ends (each test has an instance).
final class XMLStreamReaderTests {
    var written: [String] = []

    deinit {
        for path in written { try? FileManager.default.removeItem(atPath: path) }
    }

    func temp(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "dropline-xml-" + UUID().uuidString + ".xml"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        written.append(path)
        return path
    }
    func temp(_ text: String) throws -> String { try temp(Array(text.utf8)) }

    func units(_ path: String) throws -> (XMLElement, [XMLElement]) {
        let reader = try XMLStreamReader(path: path)
        let root = try reader.readRoot()
        var out: [XMLElement] = []
        while let u = try reader.nextUnit() { out.append(u) }
        try reader.finish()
        return (root, out)
    }

    func failure(_ path: String) -> FileFailure? {
        do {
            _ = try units(path)
            return nil
        } catch let f as FileFailure { return f } catch { return nil }
    }

    /// The SAX walk the hold pre-pass uses: only elements on the path, by namespace and name at
    /// their level, each attribute value whole (references replaced), nothing off the path.
    @Test func theAttributeScanReadsOneAttributeOfTheElementsOnAPath() throws {
        let path = try temp("""
            <?xml version="1.0" encoding="ISO-8859-1"?>
            <r:Export xmlns:r="urn:r" xmlns:o="urn:o">
              <r:Sheet id="S1"><r:Entry id="E1"/><r:Entry id="E&amp;2"><r:Entry id="nested"/></r:Entry>
                <r:Other><r:Entry id="under-other"/></r:Other><o:Entry id="other-namespace"/><r:Entry/><r:Entry o:id="qualified" id="E\u{E9}"/></r:Sheet>
              <r:Entry id="under-root"/>
              <o:Sheet><r:Entry id="under-other-sheet"/></o:Sheet>
              <r:Sheet><r:Entry id="E4"></r:Entry></r:Sheet>
            </r:Export>
            """.data(using: .isoLatin1)!.map { $0 })
        let entry = [XMLName(namespace: "urn:r", local: "Export"), XMLName(namespace: "urn:r", local: "Sheet"), XMLName(namespace: "urn:r", local: "Entry")]
        var ids: [String?] = []
        try XMLAttributeScan.forEachElement(inFileAt: path, at: entry, attribute: XMLName(namespace: nil, local: "id")) { ids.append($0) }
        #expect(ids == ["E1", "E&2", nil, "E\u{E9}", "E4"])
        var qualified: [String?] = []
        try XMLAttributeScan.forEachElement(inFileAt: path, at: entry, attribute: XMLName(namespace: "urn:o", local: "id")) { qualified.append($0) }
        #expect(qualified == [nil, nil, nil, "qualified", nil])
        // The same refusals as reading by units: a DOCTYPE, a document cut short (after what it read).
        let doctype = try temp("<?xml version=\"1.0\"?>\n<!DOCTYPE r:Export []>\n<r:Export xmlns:r=\"urn:r\"/>")
        #expect(throws: FileFailure.self) { try XMLAttributeScan.forEachElement(inFileAt: doctype, at: entry, attribute: XMLName(namespace: nil, local: "id")) { _ in } }
        let cut = try temp("<r:Export xmlns:r=\"urn:r\"><r:Sheet><r:Entry id=\"A\"/><r:Entry id=\"B\"/></r:Sheet><r:Sheet><r:Ent")
        var partial: [String?] = []
        #expect(throws: FileFailure.self) { try XMLAttributeScan.forEachElement(inFileAt: cut, at: entry, attribute: XMLName(namespace: nil, local: "id")) { partial.append($0) } }
        #expect(partial == ["A", "B"])
        // Nothing at all, no root, a root never closed, an undeclared entity, a mismatched tag.
        for broken in ["", "<?xml version=\"1.0\"?>", "<r:Export xmlns:r=\"urn:r\">", "<r:Export xmlns:r=\"urn:r\"><r:Sheet><r:Entry id=\"&e;\"/></r:Sheet></r:Export>",
                       "<r:Export xmlns:r=\"urn:r\"><r:Sheet></r:Export>"] {
            let path = try temp(broken)
            #expect(throws: FileFailure.self, "\(broken)") { try XMLAttributeScan.forEachElement(inFileAt: path, at: entry, attribute: XMLName(namespace: nil, local: "id")) { _ in } }
        }
        let none = NSTemporaryDirectory() + "dropline-xml-missing-" + UUID().uuidString
        #expect(throws: FileFailure.self) { try XMLAttributeScan.forEachElement(inFileAt: none, at: entry, attribute: XMLName(namespace: nil, local: "id")) { _ in } }
    }

    /// The scan finds exactly the entry ids that reading the export unit by unit finds, on the
    /// seeded exports of the read-in-place tests (comments, PIs, CDATA, character references,
    /// `&amp;`, non-ASCII values, prefixed namespaces, in UTF-8 and ISO-8859-1); cut short, it
    /// fails, after at least the ids of the units read whole.
    @Test func theAttributeScanFindsTheIdsOfReadingByUnits() throws {
        let ns = ReadInPlaceTests.ns
        let entry = [XMLName(namespace: ns, local: "TimesheetExport"), XMLName(namespace: ns, local: "Timesheet"), XMLName(namespace: ns, local: "Entry")]
        func byUnits(_ path: String) -> (ids: [String?], failed: Bool) {
            var ids: [String?] = []
            do {
                let reader = try XMLStreamReader(path: path)
                guard try reader.readRoot().is(namespace: ns, local: "TimesheetExport") else { return ([], false) }
                while let unit = try reader.nextUnit() {
                    for child in unit.children where unit.is(namespace: ns, local: "Timesheet") && child.is(namespace: ns, local: "Entry") {
                        ids.append(child.attribute(namespace: nil, local: "id"))
                    }
                }
                try reader.finish()
                return (ids, false)
            } catch { return (ids, true) }
        }
        let shortcut = SchemaShortcutTests()
        var g = SeededGenerator(seed: 2026_12_01)
        var compared = 0, cut = 0
        for round in 0..<400 {
            var text = ReadInPlaceTests().document(&g, shortcut: shortcut)
            if round % 3 == 0 { text = text.replacingOccurrences(of: "id=\"", with: "id=\"&amp;\u{E9}&#x41;") }
            var bytes = Array(text.utf8)
            if round % 4 == 1, let latin1 = text.replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"ISO-8859-1\"").data(using: .isoLatin1) { bytes = Array(latin1) }
            if round % 5 == 2 { bytes = Array(bytes.prefix(Int.random(in: 1..<bytes.count, using: &g))) }
            let path = try temp(bytes)
            let reference = byUnits(path)
            var ids: [String?] = []
            let failed = (try? XMLAttributeScan.forEachElement(inFileAt: path, at: entry, attribute: XMLName(namespace: nil, local: "id")) { ids.append($0) }) == nil
            #expect(failed == reference.failed, "\(text)")
            if reference.failed {
                #expect(Array(ids.prefix(reference.ids.count)) == reference.ids, "\(text)")
                cut += 1
            } else {
                #expect(ids == reference.ids, "\(text)")
                if !ids.isEmpty { compared += 1 }
            }
        }
        #expect(compared > 200 && cut > 40, "\(compared) compared, \(cut) cut")
    }

    @Test func decodesLatin1DeclaredFile() throws {
        let (root, units) = try units(TestPaths.examples + "/inbound/HR_WORKERS_HRIS01_20261127_001.xml")
        #expect(root.local == "WORKER_EXPORT")
        #expect(root.attribute(namespace: nil, local: "EXPORT_ID") == "HR-20261127-001")
        #expect(units.count == 4)
        #expect(units[0].children.first { $0.local == "FIRST_NAME" }?.text == "José")
        #expect(units[2].children.first { $0.local == "LAST_NAME" }?.text == "Ødegård")
        #expect(units[0].line == 3)
    }

    @Test func readsFileWithByteOrderMarkAndNoDeclaration() throws {
        let (root, units) = try units(TestPaths.examples + "/inbound/ERP_PERIODS_ERP01_20261127_001.xml")
        #expect(root.namespace == "urn:example:erp:fi:1")
        #expect(units.map(\.local) == ["Period", "Period", "Period", "Control"])
        #expect(units[1].attribute(namespace: nil, local: "status") == "open")
    }

    @Test func readsNamespacedDefaultNamespaceAndCDATA() throws {
        let (root, units) = try units(TestPaths.examples + "/inbound/PSA_TIMESHEETS_PSA01_20261127_001.xml")
        #expect(root.is(namespace: "urn:example:psa:time:2", local: "TimesheetExport"))
        let note = units[0].children[0].children.first { $0.local == "Note" }
        #expect(note?.text == "Sprint review & planning; stories <5 pts split")
        #expect(note?.namespace == "urn:example:psa:time:2")
    }

    /// Names are cached by libxml2's pointer: a namespace declared on one unit and freed with
    /// it must not lend its URI to another unit's namespace that reuses the memory.
    @Test func namespacesDeclaredPerUnitKeepTheirOwnURIs() throws {
        let count = 3_000
        var text = "<r>"
        for i in 0..<count { text += "<p:a xmlns:p=\"urn:unit:\(i)\" p:n=\"\(i)\"><p:b/></p:a>" }
        text += "</r>"
        let (_, units) = try units(try temp(text))
        #expect(units.count == count)
        let wrong = units.indices.filter { i in
            let u = units[i]
            return u.namespace != "urn:unit:\(i)" || u.attribute(namespace: "urn:unit:\(i)", local: "n") != "\(i)" || u.children.first?.namespace != "urn:unit:\(i)"
        }
        #expect(wrong.isEmpty, "\(wrong.count) units with another unit's namespace, first \(wrong.first ?? -1)")
    }

    @Test func readsUTF16WithByteOrderMark() throws {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><r><a x=\"é\"/></r>"
        var bytes: [UInt8] = [0xFF, 0xFE]
        for u in text.utf16 { bytes += [UInt8(u & 0xFF), UInt8(u >> 8)] }
        let (_, units) = try units(try temp(bytes))
        #expect(units.first?.attribute(namespace: nil, local: "x") == "é")
    }

    @Test func refusesDoctype() throws {
        let f = failure(try temp("<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY e \"x\">]>\n<r><a/></r>"))
        #expect(f?.code == .dtdForbidden)
    }

    @Test func truncatedFileIsNotWellFormed() throws {
        let f = failure(TestPaths.examples + "/bad/PSA_TIMESHEETS_PSA01_20261127_002.xml")
        #expect(f?.code == .notWellFormed)
        #expect(f?.line != nil)
    }

    @Test func namespaceErrorsAreFatal() throws {
        #expect(failure(try temp("<r><p:a/></r>"))?.code == .notWellFormed)
        #expect(failure(try temp("<r xmlns:p=\"\"><a/></r>"))?.code == .notWellFormed)
    }

    @Test func invalidUTF8IsBadEncoding() throws {
        let f = failure(try temp(Array("<r><a>".utf8) + [0xC3, 0x28] + Array("</a></r>".utf8)))
        #expect(f?.code == .badEncoding)
    }

    @Test func garbageAfterRootIsNotWellFormed() throws {
        #expect(failure(try temp("<r><a/></r><r/>"))?.code == .notWellFormed)
    }

    @Test func depthLimitIsEnforced() throws {
        let deep = String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300)
        #expect(failure(try temp("<r>" + deep + "</r>"))?.code == .depthLimit)
    }
}

struct FieldCasterTests {
    func field(_ type: FieldType, emptyIsNull: Bool = true) -> FieldDefinition {
        FieldDefinition(name: "f", path: FieldPath(steps: [], written: "."), type: type, emptyIsNull: emptyIsNull)
    }

    @Test func castsEachType() throws {
        #expect(try FieldCaster.cast("40,00", field(.decimal(separator: UInt8(ascii: ","), scale: 2, signed: false))).get() == .decimal(40, scale: 2))
        #expect(try FieldCaster.cast("99991231", field(.date(compact: true, openEnd: "99991231"))).get() == .date(.openEnd))
        #expect(try FieldCaster.cast("20261125", field(.date(compact: true, openEnd: nil))).get() == .date(BusinessDate(iso: "2026-11-25")!))
        #expect(try FieldCaster.cast(" 2026-11-25 ", field(.date(compact: false, openEnd: nil))).get() == .date(BusinessDate(iso: "2026-11-25")!))
        #expect(try FieldCaster.cast("42", field(.integer)).get() == .integer(42))
        #expect(try FieldCaster.cast("Y", field(.boolean(trueToken: "Y", falseToken: "N"))).get() == .boolean(true))
        #expect(try FieldCaster.cast("", field(.string)).get() == .null)
        #expect(try FieldCaster.cast("", field(.string, emptyIsNull: false)).get() == .string(""))
        #expect(try FieldCaster.cast(nil, field(.integer)).get() == .null)
        if case .timestamp(let raw, let date) = try! FieldCaster.cast("2026-11-27T22:05:00+01:00", field(.timestamp)).get() {
            #expect(raw == "2026-11-27T22:05:00+01:00")
            #expect(date == Timestamp.parse("2026-11-27T21:05:00Z"))
            #expect(date == Date(timeIntervalSince1970: 1_795_813_500))
        } else { Issue.record("not a timestamp") }
        #expect(Timestamp.parse("2026-11-27T21:05:00.25-00:30") == Date(timeIntervalSince1970: 1_795_813_500 + 1_800.25))
        for bad in ["2026-11-27T21:05:00", "2026-11-27T21:05:00+1:00", "2026-11-27 21:05:00Z", "2026-11-27T21:05:60Z", "2026-11-27T21:05:00.Z", "2026-11-2\u{301}7T21:05:00Z"] {
            #expect(Timestamp.parse(bad) == nil, "\(bad)")
        }
    }

    @Test(arguments: [
        ("7,50", FieldType.decimal(separator: UInt8(ascii: "."), scale: nil, signed: true)),
        ("40.00", FieldType.decimal(separator: UInt8(ascii: ","), scale: 2, signed: false)),
        ("-1", FieldType.decimal(separator: UInt8(ascii: "."), scale: nil, signed: false)),
        ("1.125", FieldType.decimal(separator: UInt8(ascii: "."), scale: 2, signed: true)),
        ("20260230", FieldType.date(compact: true, openEnd: "99991231")),
        ("2026-11-31", FieldType.date(compact: false, openEnd: nil)),
        ("2026-11-27T22:05:00", FieldType.timestamp),
        ("x", FieldType.integer),
        ("J", FieldType.boolean(trueToken: "Y", falseToken: "N")),
    ])
    func rejectsBadValues(_ raw: String, _ type: FieldType) {
        if case .failure(let issue) = FieldCaster.cast(raw, field(type)) {
            #expect(issue.code == .invalidField)
            #expect(issue.actual == raw)
        } else {
            Issue.record("\(raw) was accepted as \(type)")
        }
    }

    /// A decimal too precise to hold exactly is refused with that reason, not rounded.
    @Test func refusesDecimalsItCannotHoldExactly() {
        let raw = "8." + String(repeating: "0", count: 40) + "1"
        if case .failure(let issue) = FieldCaster.cast(raw, field(.decimal(separator: UInt8(ascii: "."), scale: nil, signed: false))) {
            #expect(issue.expected == "a decimal of at most 38 significant digits")
        } else {
            Issue.record("\(raw) was accepted")
        }
    }
}
