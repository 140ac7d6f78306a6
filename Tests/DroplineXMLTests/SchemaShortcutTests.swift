import DroplineCore
import DroplineTesting
import DroplineXML
import Foundation
import Testing

/// The compiled shortcut may only ever call valid what libxml2 calls valid: checked on thousands
/// of seeded near-valid timesheets (edits of valid values, odd dates, non-ASCII digits, unknown
/// and missing attributes, stray text and children), and it must take the common valid record.
struct SchemaShortcutTests {
    static let timesheetSchema = TestPaths.pipelines + "/schemas/psa-timesheets.xsd"
    static let ns = "urn:example:psa:time:2"
    static let entryName = XMLName(namespace: ns, local: "Entry")

    /// A timesheet export of `body` (its timesheets, each line ended), the trailer's attributes
    /// `control`; `namespaces`: more declarations on the root.
    static func export(_ body: String, control: String, namespaces: String = "") -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <TimesheetExport xmlns="\(ns)"\(namespaces) exportId="PSA-T-1" sourceSystem="PSA" generatedAt="2026-11-27T23:30:00Z" businessDate="2026-11-27" schemaVersion="2">
        \(body)  <Control \(control)/>
        </TimesheetExport>

        """
    }

    @Test func coversTheShippedInterfacesWhereTheSubsetAllows() throws {
        #expect(try XMLSchema(path: Self.timesheetSchema).shortcutElements == ["Entry", "Timesheet", "TimesheetExport"])
        // Every shipped schema loads; elements outside the subset are simply not covered.
        for name in try FileManager.default.contentsOfDirectory(atPath: TestPaths.pipelines + "/schemas") where name.hasSuffix(".xsd") {
            _ = try XMLSchema(path: TestPaths.pipelines + "/schemas/" + name)
        }
    }

    struct Case {
        var timesheet: [(String, String)] = [("id", "TS-0000001"), ("worker", "00012345"), ("weekStart", "2026-11-23"), ("status", "approved"), ("submittedAt", "2026-11-27T17:00:00Z")]
        var entry: [(String, String)] = [("id", "TE-00000001"), ("date", "2026-11-24"), ("project", "PRJ-10042"), ("task", "T-01"), ("hours", "7.50"), ("category", "billable")]
        var entryBody = ""
        var timesheetExtra = ""

        func document() -> String {
            SchemaShortcutTests.export(timesheetElement() + "\n", control: #"timesheetCount="1" entryCount="1" totalHours="7.50""#)
        }

        /// The case's `Timesheet` element, with its entry.
        func timesheetElement() -> String {
            func attrs(_ list: [(String, String)]) -> String {
                list.map { " \($0.0)=\"\($0.1.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "\t", with: "&#9;"))\"" }.joined()
            }
            let entry = entryBody.isEmpty ? "<Entry\(attrs(entry))/>" : "<Entry\(attrs(entry))>\(entryBody)</Entry>"
            return """
                  <Timesheet\(attrs(timesheet))>\(timesheetExtra)
                    \(entry)
                  </Timesheet>
                """
        }
    }

    static let odd = ["", " ", "2024-02-29", "2026-02-29", "2100-02-29", "2000-02-29", "2026-13-01", "2026-00-10", "0000-01-01", "2026-11-31",
                      "2026-11-24Z", "2026-11-24+01:00", " 2026-11-24", "2026-11-24 ", "+2026-11-24", "12026-11-24",
                      "2026-11-27T24:00:00Z", "2026-11-27T23:59:60Z", "2026-11-27T10:00:00+14:00", "2026-11-27T10:00:00-13:59",
                      "2026-11-27T10:00:00.Z", "2026-11-27T10:00:00.123456789Z", "2026-11-27T10:00:00.1234567890Z", "2026-11-27T10:00:00",
                      "2026-11-27t10:00:00Z", "TE-0000000\u{661}", "TE-00000001 ", "PRJ-\u{661}0042", "billable\u{a0}", "bill able", "billable\t",
                      "approved ", "APPROVED", "x", String(repeating: "c", count: 40), String(repeating: "c", count: 41), "-0.5", "7.", ".5", "7,50",
                      "0", "00", "-", "T-", "T-01-", "A" + String(repeating: "-", count: 19), "A" + String(repeating: "-", count: 20), "\u{e9}t\u{e9}"]
    static let alphabet = Array("0123456789-:.TZ+ABPRJEabcxyz_ \t\u{e9}\u{661}")

    func mutate(_ value: String, _ g: inout SeededGenerator) -> String {
        if Int.random(in: 0..<4, using: &g) == 0 { return Self.odd.randomElement(using: &g)! }
        var chars = Array(value)
        for _ in 0..<Int.random(in: 1...3, using: &g) {
            let c = Self.alphabet.randomElement(using: &g)!
            switch Int.random(in: 0..<3, using: &g) {
            case 0: chars.insert(c, at: Int.random(in: 0...chars.count, using: &g))
            case 1 where !chars.isEmpty: chars.remove(at: Int.random(in: 0..<chars.count, using: &g))
            default: if !chars.isEmpty { chars[Int.random(in: 0..<chars.count, using: &g)] = c }
            }
        }
        return String(chars)
    }

    func randomCase(_ g: inout SeededGenerator) -> Case {
        var c = Case()
        for _ in 0..<Int.random(in: 0...2, using: &g) {
            switch Int.random(in: 0..<10, using: &g) {
            case 0..<4:
                let i = Int.random(in: 0..<c.entry.count, using: &g)
                c.entry[i].1 = mutate(c.entry[i].1, &g)
            case 4..<6:
                let i = Int.random(in: 0..<c.timesheet.count, using: &g)
                c.timesheet[i].1 = mutate(c.timesheet[i].1, &g)
            case 6:
                if Bool.random(using: &g) { c.entry.remove(at: Int.random(in: 0..<c.entry.count, using: &g)) } else { c.timesheet.remove(at: Int.random(in: 0..<c.timesheet.count, using: &g)) }
            case 7:
                let extra = ["note", "approver", "id2"].randomElement(using: &g)!
                if !c.entry.contains(where: { $0.0 == extra }) { c.entry.append((extra, "x")) }
                if Bool.random(using: &g), !c.timesheet.contains(where: { $0.0 == "approver" }) { c.timesheet.append(("approver", mutate("00012345", &g))) }
            case 8:
                c.entryBody = ["<Note>fine \u{e9}</Note>", "<Note/>", "<Note>" + String(repeating: "n", count: 2001) + "</Note>", "<Note>a</Note><Note>b</Note>",
                               "text", "  \n  ", "<Other/>", "<Note><b/></Note>", "<Note x=\"1\">a</Note>"].randomElement(using: &g)!
            default:
                c.timesheetExtra = ["stray", "<Note>x</Note>", "  ", "<![CDATA[ ]]>"].randomElement(using: &g)!
            }
        }
        return c
    }

    /// The header and the entry of the case's only timesheet, as read with libxml2 validating.
    func read(_ text: String, schema: XMLSchema) throws -> (header: XMLElement, entry: XMLElement?)? {
        let path = NSTemporaryDirectory() + "shortcut-" + UUID().uuidString + ".xml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let plan = XMLStreamReader.ValidationPlan(schema: schema, nestedRecords: [Self.entryName], trailer: XMLName(namespace: Self.ns, local: "Control"))
        let reader = try XMLStreamReader(path: path, plan: plan)
        _ = try reader.readRoot()
        guard let unit = try reader.nextUnit() else { return nil }
        return (unit, unit.children.first { $0.is(namespace: Self.ns, local: "Entry") })
    }

    @Test func neverCallsValidWhatLibxml2Rejects() throws {
        let libxml2 = try XMLSchema(path: Self.timesheetSchema, shortcut: false)
        let shortcut = try XMLSchema(path: Self.timesheetSchema)
        var g = SeededGenerator(seed: 2026_11_29)
        var taken = 0, valid = 0, checked = 0
        for _ in 0..<4000 {
            let c = randomCase(&g)
            guard let read = try read(c.document(), schema: libxml2) else { continue }
            let pairs: [(XMLElement?, Set<XMLName>)] = [(read.header, [Self.entryName]), (read.entry, [])]
            for (element, excluding) in pairs {
                guard let element, let errors = element.schemaErrors else { continue }
                checked += 1
                let accepted = shortcut.certainlyValid(element, excluding: excluding)
                if accepted { taken += 1 }
                if errors.isEmpty { valid += 1 }
                #expect(!accepted || errors.isEmpty, "shortcut took an element libxml2 rejects (\(errors.first ?? "")): \(c.document())")
            }
        }
        // The shortcut must do its job: most valid elements are taken without libxml2.
        #expect(checked > 7000)
        #expect(valid > 1000 && Double(taken) > 0.8 * Double(valid), "taken \(taken) of \(valid) valid elements")
    }

    @Test func validationResultsAreTheSameWithAndWithoutIt() throws {
        let libxml2 = try XMLSchema(path: Self.timesheetSchema, shortcut: false)
        let shortcut = try XMLSchema(path: Self.timesheetSchema)
        var g = SeededGenerator(seed: 7)
        for _ in 0..<500 {
            let text = randomCase(&g).document()
            let a = try read(text, schema: libxml2), b = try read(text, schema: shortcut)
            #expect(a?.header.schemaErrors == b?.header.schemaErrors)
            #expect(a?.entry?.schemaErrors == b?.entry?.schemaErrors)
        }
        // The plain valid record never reaches libxml2's messages.
        let plain = try read(Case().document(), schema: shortcut)
        #expect(plain?.header.schemaErrors == [] && plain?.entry?.schemaErrors == [])
        #expect(shortcut.certainlyValid(try #require(plain?.entry)))
    }

    /// Patterns decide values with non-ASCII characters as libxml2 does: never valid where it
    /// says invalid, and, without `\d` or `\D` (whose digits are Unicode's), decided alike
    /// every time. Each pattern of the shipped schemas and some more, on seeded values of
    /// ASCII and non-ASCII characters (a Unicode digit, a no-break space, a line separator,
    /// NEL, a character outside the BMP).
    @Test func patternsDecideNonASCIIValuesAsLibxml2Does() throws {
        var patterns = Set<String>()
        for name in try FileManager.default.contentsOfDirectory(atPath: TestPaths.pipelines + "/schemas") where name.hasSuffix(".xsd") {
            let text = try String(contentsOfFile: TestPaths.pipelines + "/schemas/" + name, encoding: .utf8)
            for m in text.matches(of: /pattern value="([^"]*)"/) { patterns.insert(String(m.1)) }
        }
        #expect(patterns.count > 20)
        patterns.formUnion([".", ".+", "a.c", "\\d+", "\\D*", "[\\d-]+", "[^\\d]x?", "\\S{2,4}", "\\s*", "[^a-z]+", "(\\s|.)*", "[^\\s]*[a-z]\\S?", "x|[^x]{2}"])
        let alphabet = Array("aAxz09-.@_,: \t\u{e9}\u{661}\u{ff10}\u{a0}\u{2028}\u{85}\u{4e2d}\u{1f600}")
        var g = SeededGenerator(seed: 2026_12_01)
        var decidedNonASCII = 0
        for pattern in patterns.sorted() {
            let dir = NSTemporaryDirectory() + "pattern-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try Data("""
                <?xml version="1.0" encoding="UTF-8"?>
                <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
                  <xs:simpleType name="T"><xs:restriction base="xs:string"><xs:pattern value="\(pattern)"/></xs:restriction></xs:simpleType>
                  <xs:complexType name="R"><xs:sequence><xs:element ref="v" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
                  <xs:element name="v" type="T"/>
                  <xs:element name="r" type="R"/>
                </xs:schema>
                """.utf8).write(to: URL(fileURLWithPath: dir + "/p.xsd"))
            let libxml2 = try XMLSchema(path: dir + "/p.xsd", shortcut: false)
            let shortcut = try XMLSchema(path: dir + "/p.xsd")
            #expect(shortcut.shortcutElements.contains("v"), "\(pattern)")
            let unicodeDigits = pattern.contains("\\d") || pattern.contains("\\D")
            var values: [String] = []
            for _ in 0..<300 {
                values.append(String((0..<Int.random(in: 0...6, using: &g)).map { _ in alphabet.randomElement(using: &g)! }))
            }
            let body = values.map { "<v>\($0)</v>" }.joined(separator: "\n")
            try Data("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r>\n\(body)\n</r>\n".utf8).write(to: URL(fileURLWithPath: dir + "/d.xml"))
            let plan = XMLStreamReader.ValidationPlan(schema: libxml2, nestedRecords: [], trailer: XMLName(namespace: nil, local: "none"))
            let reader = try XMLStreamReader(path: dir + "/d.xml", plan: plan)
            _ = try reader.readRoot()
            while let unit = try reader.nextUnit() {
                let errors = try #require(unit.schemaErrors)
                let accepted = shortcut.certainlyValid(unit)
                #expect(!accepted || errors.isEmpty, "pattern \(pattern) took \(unit.text.unicodeScalars.map { String($0.value, radix: 16) }), which libxml2 rejects")
                if !unicodeDigits {
                    #expect(accepted == errors.isEmpty, "pattern \(pattern) left \(unit.text.unicodeScalars.map { String($0.value, radix: 16) }) to libxml2")
                }
                if accepted, !unit.text.unicodeScalars.allSatisfy(\.isASCII) { decidedNonASCII += 1 }
            }
        }
        #expect(decidedNonASCII > 500)
    }

    /// A reader remembers the value each attribute declaration accepted last, and the address
    /// the document keeps its name at (`SchemaShortcut.Accepted`), and takes the same bytes
    /// again unchecked: only for that declaration. On a long export whose attributes often repeat the value before, or carry
    /// the value just accepted for the attribute before them (valid there, mostly not here),
    /// every unit read in place is one libxml2 finds valid, and every other is reported as
    /// libxml2 reports it.
    @Test func aRememberedValueIsTakenOnlyForItsOwnAttribute() throws {
        var g = SeededGenerator(seed: 2026_12_02)
        var sheets = "", count = 0
        var last: [String: String] = [:]
        /// The elements' attributes: each the value before (half the time), the value just given
        /// to the attribute before it (one in twenty), else the plain case's; ids numbered.
        func attributes(_ plain: [(String, String)], _ element: String) -> String {
            var out: [(String, String)] = []
            for (i, (name, value)) in plain.enumerated() {
                let key = element + name
                var v = value
                switch Int.random(in: 0..<20, using: &g) {
                case 0..<10: v = last[key] ?? value
                case 10: if i > 0 { v = out[i - 1].1 }
                default: break
                }
                if name == "id" { v = value + String(format: "%06d", count) }
                last[key] = v
                out.append((name, v))
            }
            return out.map { " \($0.0)=\"\($0.1)\"" }.joined()
        }
        let plain = Case()
        for _ in 0..<400 {
            count += 1
            var entries = ""
            for _ in 0..<Int.random(in: 1...3, using: &g) {
                count += 1
                entries += "\n    <Entry\(attributes(plain.entry.map { $0.0 == "id" ? ($0.0, "TE-00") : $0 }, "Entry"))/>"
            }
            sheets += "  <Timesheet\(attributes(plain.timesheet.map { $0.0 == "id" ? ($0.0, "TS-0") : $0 }, "Timesheet"))>\(entries)\n  </Timesheet>\n"
        }
        let (units, valid, live) = try readersAgree(sheets)
        #expect(units == 401)  // 400 timesheets and the trailer
        // Faulty units and valid ones both come often, and valid ones are read in place.
        #expect(valid > 40 && units - valid > 40, "\(valid) valid of \(units)")
        #expect(live == valid, "\(live) read in place, \(valid) valid")
    }

    /// A pattern's automaton resumed where a value parts from the one the same declaration
    /// accepted last (`SchemaShortcut.Accepted.trails`) decides as libxml2 does. One reader over
    /// a long export whose every attribute, half the time, changes one of its last two digits
    /// from its value before (as ids, dates and times do), now and then becomes invalid,
    /// longer, shorter or non-ASCII near its end, else returns to the plain value: every unit
    /// read in place is valid to libxml2, every other is reported as libxml2 reports it.
    @Test func aResumedPatternDecidesAsLibxml2Does() throws {
        var g = SeededGenerator(seed: 2026_12_03)
        var last: [String: String] = [:]
        let alphabet = Array("0123456789-.:TZABCPRJE_x \u{e9}")
        func next(_ key: String, _ plain: String) -> String {
            var chars = Array(last[key] ?? plain)
            switch Int.random(in: 0..<100, using: &g) {
            case 0: chars = Array(Self.odd.randomElement(using: &g)!)
            case 1:
                // Longer, shorter or another character, near the end.
                guard !chars.isEmpty else { break }
                let at = max(0, chars.count - 1 - Int.random(in: 0..<4, using: &g))
                switch Int.random(in: 0..<3, using: &g) {
                case 0: chars.insert(alphabet.randomElement(using: &g)!, at: at)
                case 1: chars.remove(at: at)
                default: chars[at] = alphabet.randomElement(using: &g)!
                }
            case 2..<50: chars = Array(plain)
            default:
                // One of the last two digits changed, as the next id, date or time changes.
                let digits = chars.indices.filter { chars[$0].isASCII && chars[$0].isNumber }.suffix(2)
                if let at = digits.randomElement(using: &g) { chars[at] = Array("0123456789").randomElement(using: &g)! }
            }
            let v = String(chars)
            last[key] = v
            return v
        }
        func attributes(_ plain: [(String, String)], _ element: String) -> String {
            plain.map { name, value in
                let v = next(element + name, value)
                return " \(name)=\"\(v.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: "\"", with: "&quot;"))\""
            }.joined()
        }
        let plain = Case()
        var sheets = ""
        for _ in 0..<600 {
            var entries = ""
            for _ in 0..<Int.random(in: 1...2, using: &g) { entries += "\n    <Entry\(attributes(plain.entry, "Entry"))/>" }
            sheets += "  <Timesheet\(attributes(plain.timesheet, "Timesheet"))>\(entries)\n  </Timesheet>\n"
        }
        let (units, valid, live) = try readersAgree(sheets)
        #expect(units == 601)  // 600 timesheets and the trailer
        #expect(valid > 20 && units - valid > 100, "\(valid) valid of \(units)")
        #expect(live == valid, "\(live) read in place, \(valid) valid")
    }

    /// Reads an export of `sheets` with one reader taking the shortcut (units read in place when
    /// it can) and one validating with libxml2: every unit read in place must be valid to
    /// libxml2, every other reported as libxml2 reports it. Returns the units, the valid ones
    /// and those read in place.
    func readersAgree(_ sheets: String) throws -> (units: Int, valid: Int, live: Int) {
        let libxml2 = try XMLSchema(path: Self.timesheetSchema, shortcut: false)
        let shortcut = try XMLSchema(path: Self.timesheetSchema)
        let path = NSTemporaryDirectory() + "readers-" + UUID().uuidString + ".xml"
        try Data(Self.export(sheets, control: #"timesheetCount="0" entryCount="0" totalHours="0""#).utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        func plan(_ schema: XMLSchema) -> XMLStreamReader.ValidationPlan {
            XMLStreamReader.ValidationPlan(schema: schema, nestedRecords: [Self.entryName], trailer: XMLName(namespace: Self.ns, local: "Control"))
        }
        let fast = try XMLStreamReader(path: path, plan: plan(shortcut))
        let slow = try XMLStreamReader(path: path, plan: plan(libxml2))
        _ = try fast.readRoot()
        _ = try slow.readRoot()
        /// Each element's schema messages: the unit's, then its entries'.
        func errors(_ unit: XMLElement) -> [[String]?] {
            [unit.schemaErrors] + unit.children.filter { $0.is(namespace: Self.ns, local: "Entry") }.map(\.schemaErrors)
        }
        var live = 0, valid = 0, units = 0
        while let expected = try slow.nextUnit() {
            let truth = errors(expected)
            guard let unit = try fast.nextUnit(liveIf: { _ in true }) else { Issue.record("the readers disagree on the units"); break }
            units += 1
            if truth.allSatisfy({ $0 == [] }) { valid += 1 }
            switch unit {
            case .live:
                live += 1
                #expect(truth.allSatisfy { $0 == [] }, "unit \(units) read in place, libxml2 says \(truth)")
            case .copied(let copy):
                #expect(errors(copy) == truth, "unit \(units)")
            }
        }
        return (units, valid, live)
    }
}
