import DroplineCore
import DroplineExtract
import DroplineTesting
import DroplineXML
import Foundation
import Testing

/// Records read in libxml2's tree (`LiveElement`) must be exactly the records read from a copy
/// of each unit: fields, casts and their faults, lines, positions, control sums, the file's
/// failures. Checked on seeded near-valid timesheet exports (the shortcut tests' edits, plus
/// comments, CDATA, entities, namespaces, several timesheets), with and without the schema, and
/// under tight limits; and the common valid unit must be read in place.
struct ReadInPlaceTests {
    static let ns = SchemaShortcutTests.ns

    /// Everything `run` hands out and returns, as text.
    func outcome(_ path: String, inPlace: Bool, schema: XMLSchema?, limits: XMLLimits, definition: PipelineDefinition) -> (lines: [String], readInPlace: Int) {
        var lines: [String] = []
        let extractor = XMLRecordExtractor(definition: definition.extract, schema: schema, limits: limits, readInPlace: inPlace)
        do {
            let summary = try extractor.run(path: path, header: { h in
                lines.append("header \(h.keys.sorted().map { "\($0)=\(h[$0]!)" })")
            }, record: { r in
                let fields = r.fields.map { "\($0.key)=\($0.value)" }
                let issues = r.issues.map { "\($0.code.rawValue)|\($0.field ?? "")|\($0.expected ?? "")|\($0.actual ?? "")" }
                let sums = r.controlSums.map { "\($0.index):\($0.value)" }
                lines.append("\(r.type) line \(r.line) #\(r.ordinal) at \(r.position) {\(fields.joined(separator: ", "))} {\(issues.joined(separator: ", "))} sums {\(sums.joined(separator: ", "))}")
            })
            lines.append("summary \(summary.counts.sorted { $0.key < $1.key }) \(summary.sums.sorted { $0.key < $1.key })")
        } catch let f as FileFailure {
            lines.append("failure \(f.code.rawValue) \(f.message) line \(f.line ?? -1)")
        } catch {
            lines.append("error \(error)")
        }
        return (lines, extractor.unitsReadInPlace)
    }

    /// Reads the document at `path` (`text`) both ways, with the schema and without: the same
    /// outcome; returns the units read in place.
    func compared(_ path: String, _ text: String, schema: XMLSchema, limits: XMLLimits, definition d: PipelineDefinition) -> Int {
        var inPlace = 0
        for s in [schema, nil] {
            let copied = outcome(path, inPlace: false, schema: s, limits: limits, definition: d)
            let live = outcome(path, inPlace: true, schema: s, limits: limits, definition: d)
            #expect(copied.readInPlace == 0)
            #expect(live.lines == copied.lines, "\(text)")
            inPlace += live.readInPlace
        }
        return inPlace
    }

    /// A pipeline like the shipped one whose entries also read the export id from the root.
    func definition() throws -> PipelineDefinition {
        var yaml = try String(contentsOfFile: TestPaths.pipelines + "/time_entries.yaml", encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "          category: \"@category\"\n", with: "          category: \"@category\"\n          export: \"../../@exportId\"\n")
        // Beside links to the shipped schemas and reference data, which it names relatively.
        let folder = NSTemporaryDirectory() + "inplace-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for linked in ["schemas", "reference"] {
            try FileManager.default.createSymbolicLink(atPath: folder + "/" + linked, withDestinationPath: TestPaths.pipelines + "/" + linked)
        }
        try yaml.write(toFile: folder + "/time_entries.yaml", atomically: true, encoding: .utf8)
        let d = try PipelineLoader().load(file: folder + "/time_entries.yaml")
        #expect(d.extract.records.first { $0.name == "entry" }?.fields.contains { $0.name == "export" } == true)
        return d
    }

    static let extras = ["", "<!-- a comment -->", "<?pi data?>", "<![CDATA[]]>", "&#32;", "\n    "]

    func document(_ g: inout SeededGenerator, shortcut: SchemaShortcutTests) -> String {
        var sheets = ""
        var entries = 0
        let n = Int.random(in: 1...4, using: &g)
        for i in 0..<n {
            var c = shortcut.randomCase(&g)
            c.timesheet = c.timesheet.map { $0.0 == "id" ? ($0.0, $0.1 + "-\(i)") : $0 }
            if Int.random(in: 0..<8, using: &g) == 0 { c.entry = c.entry.map { $0.0 == "project" ? ($0.0, "P&Q \u{e9}") : $0 } }
            if Int.random(in: 0..<8, using: &g) == 0 { c.timesheetExtra += Self.extras.randomElement(using: &g)! }
            sheets += c.timesheetElement() + "\n"
            entries += 1
        }
        let prefixed = Int.random(in: 0..<6, using: &g) == 0
        var doc = SchemaShortcutTests.export(sheets, control: #"timesheetCount="\#(n)" entryCount="\#(entries)" totalHours="7.50""#)
        if prefixed {
            doc = doc.replacingOccurrences(of: "xmlns=", with: "xmlns:t=").replacingOccurrences(of: "<", with: "<t:").replacingOccurrences(of: "<t:/", with: "</t:")
                .replacingOccurrences(of: "<t:?xml", with: "<?xml").replacingOccurrences(of: "<t:!--", with: "<!--").replacingOccurrences(of: "<t:?pi", with: "<?pi").replacingOccurrences(of: "<t:![CDATA", with: "<![CDATA")
        }
        return doc
    }

    @Test func recordsReadInPlaceAreTheRecordsOfACopy() throws {
        let d = try definition()
        let schema = try XMLSchema(path: SchemaShortcutTests.timesheetSchema)
        let shortcut = SchemaShortcutTests()
        var g = SeededGenerator(seed: 2026_11_30)
        let path = NSTemporaryDirectory() + "inplace-" + UUID().uuidString + ".xml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var inPlace = 0, documents = 0
        for round in 0..<600 {
            let text = document(&g, shortcut: shortcut)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let limits = round % 5 == 4 ? XMLLimits(maxDepth: 3, maxAttributes: 6, maxTextBytes: 12) : XMLLimits()
            inPlace += compared(path, text, schema: schema, limits: limits, definition: d)
            documents += 2
        }
        // The comparison must be about units actually read in place.
        #expect(inPlace > documents / 2, "\(inPlace) units read in place in \(documents) documents")
    }

    @Test func theCommonValidUnitIsReadInPlace() throws {
        let d = try definition()
        let path = NSTemporaryDirectory() + "inplace-" + UUID().uuidString + ".xml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(SchemaShortcutTests.Case().document().utf8).write(to: URL(fileURLWithPath: path))
        let live = outcome(path, inPlace: true, schema: try XMLSchema(path: SchemaShortcutTests.timesheetSchema), limits: XMLLimits(), definition: d)
        #expect(live.readInPlace == 1)
        #expect(live.lines.contains { $0.hasPrefix("entry line 4 #1 at [0, 0]") && $0.contains("export=string(\"PSA-T-1\")") && $0.hasSuffix("} {} sums {2:7.5}") }, "\(live.lines)")
    }

    /// Text where an element's type allows none (mixed content) breaks the schema, in a header
    /// (a timesheet, validated without its entries) as in a nested record: such a unit is never
    /// read in place, whatever form the text takes, and its records carry the schema's fault, as
    /// a copy's do. Whitespace and comments break nothing and are read in place; a CDATA section
    /// of whitespace is text to libxml2.
    @Test func textWhereTheSchemaAllowsNoneIsAFault() throws {
        let d = try definition()
        let schema = try XMLSchema(path: SchemaShortcutTests.timesheetSchema)
        let path = NSTemporaryDirectory() + "inplace-" + UUID().uuidString + ".xml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let texts: [(String, Bool)] = [("stray", false), ("<![CDATA[x]]>", false), ("&#120;", false), ("<![CDATA[ ]]>", false), ("\n  <!-- c -->  ", true), ("&#32;", true)]
        for (text, fine) in texts {
            for inEntry in [false, true] {
                var c = SchemaShortcutTests.Case()
                if inEntry { c.entryBody = text } else { c.timesheetExtra = text }
                let document = c.document()
                try Data(document.utf8).write(to: URL(fileURLWithPath: path))
                // Without the schema every unit is read in place.
                #expect(compared(path, document, schema: schema, limits: XMLLimits(), definition: d) == (fine ? 2 : 1), "\(text) in entry: \(inEntry)")
                let lines = outcome(path, inPlace: true, schema: schema, limits: XMLLimits(), definition: d).lines
                let faulty = lines.filter { $0.contains("invalid_field") }.map { $0.prefix(while: { $0 != " " }) }
                #expect(faulty == (fine ? [] : inEntry ? ["entry"] : ["timesheet"]), "\(text) in entry: \(inEntry): \(lines)")
            }
        }
    }

    /// Worker records, whose fields are the text of child elements, read in place are the
    /// records of a copy: on seeded exports with edited, missing, repeated, empty and non-ASCII
    /// fields, text in parts (CDATA, comments, references, a child inside a field), ISO-8859-1,
    /// with and without the schema, and under tight limits.
    @Test func workerRecordsReadInPlaceAreTheRecordsOfACopy() throws {
        let d = try PipelineLoader().load(file: TestPaths.pipelines + "/workers.yaml")
        let schema = try XMLSchema(path: TestPaths.pipelines + "/schemas/hr-workers.xsd")
        var g = SeededGenerator(seed: 2026_12_01)
        let path = NSTemporaryDirectory() + "inplace-workers-" + UUID().uuidString + ".xml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let valid: [(String, String)] = [("PERNR", "10000001"), ("FIRST_NAME", "Bj\u{f8}rn"), ("LAST_NAME", "Garc\u{ed}a"), ("EMAIL", "w1@example.com"), ("REGION", "EMEA"),
                                         ("PRACTICE", "CLOUD"), ("JOB_CODE", "SCON"), ("BILLABLE_ROLE", "Y"), ("COST_CENTER", "CC-1001"), ("STD_HOURS_WEEK", "37,5"),
                                         ("VALID_FROM", "20250101"), ("VALID_TO", "99991231"), ("MANAGER_PERNR", "10000000")]
        let edits = ["", " ", "x", "1000000", "100000012", "EMEA ", "\u{e9}", "Ann&amp;e", "A<![CDATA[n]]>na", "An<!-- c -->na", "A&#110;na", "40,00", "4O", "20261301",
                     "20260230", "TERMINATE", "\u{661}0000001", "x@y", "w@e.x", " Anna", "N<b/>", String(repeating: "n", count: 41)]
        var inPlace = 0, documents = 0
        for round in 0..<300 {
            var units = ""
            let n = Int.random(in: 1...4, using: &g)
            for i in 0..<n {
                var fields = valid.map { ($0.0, $0.0 == "PERNR" ? "1000000\(i)" : $0.1) }
                for _ in 0..<Int.random(in: 0...2, using: &g) {
                    let k = Int.random(in: 0..<fields.count, using: &g)
                    switch Int.random(in: 0..<6, using: &g) {
                    case 0: fields.remove(at: k)
                    case 1: fields.insert(fields[k], at: k)
                    case 2: fields[k].1 = ""
                    default: fields[k].1 = edits.randomElement(using: &g)!
                    }
                }
                let body = fields.map { $0.1.isEmpty && Bool.random(using: &g) ? "<\($0.0)/>" : "<\($0.0)>\($0.1)</\($0.0)>" }.joined(separator: "\n    ")
                let action = Int.random(in: 0..<10, using: &g) == 0 ? "DELETE" : "UPSERT"
                units += "  <WORKER ACTION=\"\(action)\">\n    \(body)\n  </WORKER>\n"
            }
            let latin1 = round % 3 == 0
            let text = """
                <?xml version="1.0" encoding="\(latin1 ? "ISO-8859-1" : "UTF-8")"?>
                <WORKER_EXPORT EXPORT_ID="HR-1" SOURCE="HRIS" GENERATED="2026-11-27T22:05:00+01:00" BUSINESS_DATE="2026-11-27" SCHEMA_VERSION="3">
                \(units)  <TRAILER RECORD_COUNT="\(n)"/>
                </WORKER_EXPORT>

                """
            // ISO-8859-1 cannot hold every edit: such a document is written in UTF-8.
            let data = latin1 ? text.data(using: .isoLatin1) ?? Data(text.replacingOccurrences(of: "ISO-8859-1", with: "UTF-8").utf8) : Data(text.utf8)
            try data.write(to: URL(fileURLWithPath: path))
            let limits = round % 5 == 4 ? XMLLimits(maxDepth: 2, maxAttributes: 6, maxTextBytes: 12) : XMLLimits()
            inPlace += compared(path, text, schema: schema, limits: limits, definition: d)
            documents += 2
        }
        #expect(inPlace > documents / 2, "\(inPlace) units read in place in \(documents) documents")
    }

    /// What `run` hands out for each record, without where it stands: its type, fields and
    /// issues (their codes only with a schema, whose messages name lines).
    func records(_ text: String, schema: XMLSchema?, definition d: PipelineDefinition) throws -> [String] {
        let path = NSTemporaryDirectory() + "remembered-" + UUID().uuidString + ".xml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var out: [String] = []
        let extractor = XMLRecordExtractor(definition: d.extract, schema: schema)
        // The control totals are not kept: the file fails at its end, after every record.
        _ = try? extractor.run(path: path, header: { _ in }, record: { r in
            let fields = r.fields.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            let issues = r.issues.map { schema == nil ? "\($0.code.rawValue)|\($0.field ?? "")|\($0.expected ?? "")|\($0.actual ?? "")" : $0.code.rawValue }
            out.append("\(r.type) {\(fields)} {\(issues.joined(separator: ", "))}")
        })
        return out
    }

    /// What a reader remembers from record to record (the values the schema shortcut accepted
    /// last, by their bytes, `SchemaShortcut.Accepted`; a timesheet's fields as its entries read
    /// them, `XMLRecordExtractor.AncestorValue`; the field storage of records handled) never
    /// changes a record: the records of a long export whose values repeat, turn faulty, come
    /// back, grow past 16 bytes and shrink again are exactly the records each of its entries
    /// gives alone (in its timesheet, as a document of its own: nothing remembered), with the
    /// schema and without; and each entry's own values are what casting their text gives.
    @Test func whatIsRememberedFromRecordToRecordChangesNoRecord() throws {
        let d = try definition()
        let schema = try XMLSchema(path: SchemaShortcutTests.timesheetSchema)
        let sheetValues: [String: [String]] = [
            "worker": ["00012345", "00012346", "1234", "000123456789012345678"],
            "weekStart": ["2026-11-23", "2026-11-30", "2026-11-23 ", "2026-11-31", "2026-11-23T00:00:00Z"],
            "status": ["approved", "submitted", "x"],
            "submittedAt": ["2026-11-27T17:00:00Z", "2026-11-27T17:00:00+01:00", "2026-11-27", "later"],
        ]
        let entryValues: [String: [String]] = [
            "date": ["2026-11-24", "2026-11-25", "2026-11-24 ", "2026-02-30", "20261124", "2026-11-24T10:00:00+01:00"],
            "project": ["PRJ-10042", "PRJ-10043", "", "PRJ-10042-EXTENDED-CODE"],
            "task": ["T-01", "T-02", " "],
            "hours": ["7.50", "8.00", "7,50", "8", "-1.5", "8.001", "x", "08.00", "7.5000000000000000001", "7.50"],
            // "8.00": the bytes of the hours just before, to be read as text, not as hours.
            "category": ["billable", "internal", "", "bill able", "billable-but-much-longer", "8.00"],
        ]
        var g = SeededGenerator(seed: 2026_12_02)
        /// One of `pool`, mostly the value before (values repeat from record to record).
        func next(_ pool: [String], after last: String?) -> String {
            if let last, Int.random(in: 0..<10, using: &g) < 7 { return last }
            return pool.randomElement(using: &g)!
        }
        func element(_ name: String, _ attributes: [(String, String)], body: String = "") -> String {
            let a = attributes.map { " \($0.0)=\"\($0.1)\"" }.joined()
            return body.isEmpty ? "<\(name)\(a)/>" : "<\(name)\(a)>\(body)</\(name)>"
        }
        func document(_ sheets: [String]) -> String {
            SchemaShortcutTests.export(sheets.joined(separator: "\n") + "\n", control: #"timesheetCount="0" entryCount="0" totalHours="0""#)
        }
        var lastSheet: [String: String] = [:], lastEntry: [String: String] = [:]
        /// Each timesheet's attributes and its entries.
        var sheets: [(attributes: [(String, String)], entries: [String])] = []
        func sheet(_ attributes: [(String, String)], _ entries: [String]) -> String {
            "  " + element("Timesheet", attributes, body: entries.map { "\n    " + $0 }.joined() + "\n  ")
        }
        var entryNumber = 0
        for s in 0..<60 {
            var entries: [String] = []
            for _ in 0..<Int.random(in: 1...5, using: &g) {
                entryNumber += 1
                var attributes = [("id", "TE-\(String(format: "%08d", entryNumber))")]
                for name in ["date", "project", "task", "hours", "category"] {
                    lastEntry[name] = next(entryValues[name]!, after: lastEntry[name])
                    attributes.append((name, lastEntry[name]!))
                }
                entries.append(element("Entry", attributes))
            }
            var attributes = [("id", "TS-\(String(format: "%07d", s + 1))")]
            for name in ["worker", "weekStart", "status", "submittedAt"] {
                lastSheet[name] = next(sheetValues[name]!, after: lastSheet[name])
                attributes.append((name, lastSheet[name]!))
            }
            sheets.append((attributes, entries))
        }
        for s in [schema, nil] {
            let whole = try records(document(sheets.map { sheet($0.attributes, $0.entries) }), schema: s, definition: d)
            // The timesheet's record, then its entry's; the timesheet's is taken from its first.
            let alone = try sheets.flatMap { t in
                try t.entries.indices.flatMap { i in
                    try records(document([sheet(t.attributes, [t.entries[i]])]), schema: s, definition: d).dropFirst(i == 0 ? 0 : 1)
                }
            }
            #expect(whole.count > 150)
            #expect(whole == alone, "schema: \(s != nil)")
        }
        // Nothing remembered within a record either: each entry's own values are what casting
        // their text gives (the category "8.00" after the hours "8.00" is text).
        let entryFields = try #require(d.extract.records.first { $0.name == "entry" }).fields
        let written = Dictionary(uniqueKeysWithValues: sheets.flatMap(\.entries).map { entry in
            (entry.components(separatedBy: "\"")[1], entry)
        })
        let path = NSTemporaryDirectory() + "remembered-" + UUID().uuidString + ".xml"
        try Data(document(sheets.map { sheet($0.attributes, $0.entries) }).utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var checked = 0
        _ = try? XMLRecordExtractor(definition: d.extract, schema: nil).run(path: path, header: { _ in }, record: { r in
            guard r.type == "entry", case .string(let id) = r["entry_id"], let entry = written[id] else { return }
            for field in entryFields where ["date", "project", "task", "hours", "category"].contains(field.name) {
                let text = entry.components(separatedBy: " \(field.name)=\"")[1].components(separatedBy: "\"")[0]
                let cast = (try? FieldCaster.cast(text, field).get()) ?? .null
                #expect(r[field.name] == cast, "\(id) \(field.name)")
                checked += 1
            }
        })
        #expect(checked == 5 * written.count)
    }

    /// Records handed to another thread in batches (`runConcurrently`), whose spent batches come
    /// back and lend their records' field storage to the next records, are the records `run`
    /// gives: on an export of several batches of timesheets and entries (two record types of
    /// different field counts sharing the storage), near-valid as in the shortcut tests; the
    /// spent batches emptied on either thread.
    @Test func recordsHandedBetweenThreadsAreTheRecordsOfRun() throws {
        let d = try definition()
        let schema = try XMLSchema(path: SchemaShortcutTests.timesheetSchema)
        let shortcut = SchemaShortcutTests()
        var g = SeededGenerator(seed: 2026_12_03)
        var sheets = ""
        for i in 0..<2600 {
            var c = Int.random(in: 0..<4, using: &g) == 0 ? shortcut.randomCase(&g) : SchemaShortcutTests.Case()
            c.timesheet = c.timesheet.map { $0.0 == "id" ? ($0.0, "TS-\(i)") : $0 }
            sheets += c.timesheetElement() + "\n"
        }
        let text = SchemaShortcutTests.export(sheets, control: #"timesheetCount="2600" entryCount="2600" totalHours="0""#)
        let path = NSTemporaryDirectory() + "handed-" + UUID().uuidString + ".xml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        func line(_ r: Record) -> String {
            let fields = r.fields.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            return "\(r.type) line \(r.line) #\(r.ordinal) at \(r.position) {\(fields)} {\(r.issues.map(\.code.rawValue).joined(separator: ", "))}"
        }
        for s in [schema, nil] {
            var ran: [String] = []
            _ = try? XMLRecordExtractor(definition: d.extract, schema: s).run(path: path, header: { _ in }, record: { ran.append(line($0)) })
            #expect(ran.count == 5200)
            // The spent batches emptied on the parsing thread, or where they were read.
            for emptiedByHandler in [false, true] {
                var handed: [String] = []
                _ = try? XMLRecordExtractor(definition: d.extract, schema: s).runConcurrently(path: path, emptiedByHandler: emptiedByHandler, prepare: { _ in 0 }, header: { _ in }, records: { batch in
                    batch.forEach { r, _ in handed.append(line(r)) }
                })
                #expect(handed == ran, "schema: \(s != nil), emptied by the handler: \(emptiedByHandler)")
            }
        }
    }

    /// A field's attribute is found by the address of its interned name once the reader learnt
    /// it (`LiveElement.withAttribute(_:interned:_:)`): only ever the attribute without a
    /// namespace, as in a copy, whether an attribute of the same local name in another
    /// namespace comes before it, stands alone, or the name is missing.
    @Test func anAttributeFoundByItsInternedNameIsTheOneWithoutANamespace() throws {
        let d = try definition()
        let schema = try XMLSchema(path: SchemaShortcutTests.timesheetSchema)
        let path = NSTemporaryDirectory() + "interned-" + UUID().uuidString + ".xml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let entries = [
            #"<Entry id="TE-00000001" date="2026-11-24" project="PRJ-10042" task="T-01" hours="7.50" category="billable"/>"#,
            #"<Entry o:hours="99" id="TE-00000002" o:date="2026-11-25" date="2026-11-24" project="PRJ-10042" task="T-01" hours="8.00" category="billable"/>"#,
            #"<Entry id="TE-00000003" date="2026-11-24" project="PRJ-10042" task="T-01" o:hours="6.00" category="billable"/>"#,
            #"<Entry id="TE-00000004" date="2026-11-26" project="PRJ-10042" task="T-01" hours="5.25" category="billable"/>"#,
        ]
        let sheet = """
              <Timesheet id="TS-0000001" worker="00012345" weekStart="2026-11-23" status="approved" submittedAt="2026-11-27T17:00:00Z">
                \(entries.joined(separator: "\n    "))
              </Timesheet>

            """
        let text = SchemaShortcutTests.export(sheet, control: #"timesheetCount="1" entryCount="4" totalHours="20.75""#, namespaces: #" xmlns:o="urn:example:other""#)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        // Without the schema the unit is read in place (with it, the unknown attributes send it to libxml2).
        #expect(compared(path, text, schema: schema, limits: XMLLimits(), definition: d) == 1)
        let lines = outcome(path, inPlace: true, schema: nil, limits: XMLLimits(), definition: d).lines.filter { $0.hasPrefix("entry") }
        #expect(lines.count == 4)
        #expect(lines.map { $0.contains("hours=decimal(") ? String($0.split(separator: "hours=")[1].prefix(while: { $0 != "," })) : "none" }
            == ["decimal(7.5", "decimal(8", "none", "decimal(5.25"], "\(lines)")
    }

    /// A field's child element is found by the address of its interned name once the reader
    /// learnt it (`LiveElement.childText(_:interned:)`): only ever the first child of that name
    /// without a namespace, as in a copy, whether one of the same local name in another
    /// namespace comes before it, it comes twice, late or not at all.
    @Test func aChildFoundByItsInternedNameIsTheFirstWithoutANamespace() throws {
        let d = try PipelineLoader().load(file: TestPaths.pipelines + "/workers.yaml")
        let schema = try XMLSchema(path: TestPaths.pipelines + "/schemas/hr-workers.xsd")
        let path = NSTemporaryDirectory() + "interned-children-" + UUID().uuidString + ".xml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fields = "<FIRST_NAME>Anna</FIRST_NAME><LAST_NAME>Berg</LAST_NAME><EMAIL>w@example.com</EMAIL><PRACTICE>DATA</PRACTICE><JOB_CODE>CONS</JOB_CODE><BILLABLE_ROLE>Y</BILLABLE_ROLE><COST_CENTER>CC-1</COST_CENTER><STD_HOURS_WEEK>40,00</STD_HOURS_WEEK><VALID_FROM>20250101</VALID_FROM><VALID_TO>99991231</VALID_TO>"
        let workers = [
            "<PERNR>10000001</PERNR><REGION>EMEA</REGION>" + fields,
            "<PERNR>10000002</PERNR><o:REGION>APAC</o:REGION><REGION>AMER</REGION>" + fields,
            "<PERNR>10000003</PERNR><o:REGION>APAC</o:REGION>" + fields,
            "<PERNR>10000004</PERNR>" + fields + "<REGION>EMEA</REGION><REGION>AMER</REGION>",
            "<PERNR>10000005</PERNR>" + fields,
        ]
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <WORKER_EXPORT xmlns:o="urn:example:other" EXPORT_ID="HR-1" SOURCE="HRIS" GENERATED="2026-11-27T22:05:00+01:00" BUSINESS_DATE="2026-11-27" SCHEMA_VERSION="3">
            \(workers.map { "  <WORKER ACTION=\"UPSERT\">\($0)</WORKER>\n" }.joined())  <TRAILER RECORD_COUNT="5"/>
            </WORKER_EXPORT>

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        // Without the schema every unit is read in place (with it, those with a foreign child go to libxml2).
        #expect(compared(path, text, schema: schema, limits: XMLLimits(), definition: d) >= 5)
        let regions = outcome(path, inPlace: true, schema: nil, limits: XMLLimits(), definition: d).lines.filter { $0.hasPrefix("worker") }.map { line in
            line.contains("region=string(\"") ? String(line.split(separator: "region=string(\"")[1].prefix(while: { $0 != "\"" })) : "none"
        }
        #expect(regions == ["EMEA", "AMER", "none", "EMEA", "none"], "\(regions)")
    }
}
