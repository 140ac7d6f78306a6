// The least a Swift program on xmlTextReader does to get a timesheet file's values, as a floor
// for `dropline run --dry-run`: built and timed by bench/swift-floor, never part of the product.
//
//   swift-floor walk FILE      xmlTextReaderRead over every node, nothing else (what
//                              xmllint --stream --noout does)
//   swift-floor strings FILE   the same, plus one Swift String for every attribute value of every
//                              element (no names compared, no record built, nothing checked)
//   swift-floor records FILE   the same, plus each Entry's six attributes gathered into a
//                              six-field record and handed to a consumer on this thread (no
//                              casting, no rules, no schema)
//   swift-floor checked FILE   the same, plus each record's schema checks and casts written
//                              out by hand for this one record type (id and date patterns, a
//                              calendar date as a day number, hours as exact hundredths, the
//                              category looked up in a set): no rules, no warehouse lookups
//   swift-floor sax-walk FILE  libxml2's SAX2 parser with callbacks that do nothing: the parse
//                              without the reader's tree (nodes built and freed for every element)
//   swift-floor sax-checked FILE  SAX2, with each Entry's attributes gathered as in `checked`
//                              (from the values SAX2 hands over) and checked and cast the same way
import CLibXML2

let arguments = CommandLine.arguments
guard arguments.count == 3, ["walk", "strings", "records", "checked", "sax-walk", "sax-checked"].contains(arguments[1]) else {
    print("usage: swift-floor walk|strings|records|checked|sax-walk|sax-checked FILE")
    exit(64)
}
let mode = arguments[1]

struct Entry {
    var fields: [String?] = Array(repeating: nil, count: 6)
}
let names = ["id", "date", "project", "task", "hours", "category"]
var nodes = 0, values = 0, records = 0, checksum = 0, invalid = 0
let entryName: [xmlChar] = Array("Entry".utf8) + [0]
let categories: Set<String> = ["billable", "client_nonbillable", "presales", "internal", "training", "bench", "absence"]

/// `prefix` then exactly `digits` ASCII digits.
func matches(_ text: String, prefix: String, digits: Int) -> Bool {
    let u = Array(text.utf8), p = Array(prefix.utf8)
    guard u.count == p.count + digits, u.starts(with: p) else { return false }
    return u.dropFirst(p.count).allSatisfy { $0 >= 48 && $0 <= 57 }
}

/// `yyyy-mm-dd`, a calendar date, as days since 1970-01-01.
func dayNumber(_ text: String) -> Int? {
    let u = Array(text.utf8)
    guard u.count == 10, u[4] == 45, u[7] == 45 else { return nil }
    func n(_ r: Range<Int>) -> Int? {
        var v = 0
        for i in r { guard u[i] >= 48, u[i] <= 57 else { return nil }; v = v * 10 + Int(u[i] - 48) }
        return v
    }
    guard let y = n(0..<4), let m = n(5..<7), let d = n(8..<10), (1...12).contains(m) else { return nil }
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
    let length = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    guard (1...length).contains(d) else { return nil }
    let yy = m <= 2 ? y - 1 : y, era = yy / 400, yoe = yy - era * 400
    let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468
}

/// `digits[.digits]` with at most two decimals, as hundredths.
func hundredths(_ text: String) -> Int? {
    var value = 0, scale = -1
    for c in text.utf8 {
        if c == 46 { guard scale < 0 else { return nil }; scale = 0; continue }
        guard c >= 48, c <= 57, value < 1 << 40 else { return nil }
        value = value * 10 + Int(c - 48)
        if scale >= 0 { scale += 1 }
    }
    guard scale <= 2 else { return nil }
    return value * (scale == 1 ? 10 : scale == 2 ? 1 : 100)
}

/// One attribute value as every mode past `walk` reads it, the same on the reader and on SAX2:
/// an Entry's put in its field by name (`name` asked only then), any other's length added to
/// the checksum.
@inline(__always)
func take(_ value: String, isEntry: Bool, into entry: inout Entry, name: () -> UnsafePointer<xmlChar>?) {
    values += 1
    if isEntry, let name = name() {
        if let i = names.firstIndex(of: String(cString: name)) { entry.fields[i] = value }
    } else {
        checksum &+= value.utf8.count
    }
}

func consume(_ entry: Entry) {
    records += 1
    guard mode.hasSuffix("checked") else {
        checksum &+= entry.fields[4]?.utf8.count ?? 0
        return
    }
    let f = entry.fields
    guard let id = f[0], matches(id, prefix: "TE-", digits: 8), let date = f[1].flatMap(dayNumber),
          let project = f[2], project.utf8.count <= 20, let hours = f[4].flatMap(hundredths),
          let category = f[5], categories.contains(category) else {
        invalid += 1
        return
    }
    checksum &+= date &+ hours
}

/// The values on libxml2's SAX2 parser: no node is built.
func readWithSAX() {
    var handler = xmlSAXHandler()
    handler.initialized = XML_SAX2_MAGIC
    handler.characters = { _, _, _ in }
    handler.endElementNs = { _, _, _, _ in nodes += 1 }
    handler.startElementNs = { _, local, _, _, namespaceCount, namespaces, count, _, attributes in
        nodes += 1
        guard mode == "sax-checked", let local else { return }
        let isEntry = xmlStrEqual(local, entryName) != 0
        var entry = Entry()
        // Namespace declarations, which the reader counts among the attributes (prefix, URI).
        for n in 0..<Int(namespaceCount) {
            guard let uri = namespaces?[2 * n + 1] else { continue }
            take(String(cString: uri), isEntry: false, into: &entry) { nil }
        }
        guard let attributes else { return }
        // Each attribute as five pointers (name, prefix, URI, value, end of value).
        for a in 0..<Int(count) {
            guard let start = attributes[5 * a + 3], let end = attributes[5 * a + 4] else { continue }
            take(String(decoding: UnsafeBufferPointer(start: start, count: end - start), as: UTF8.self), isEntry: isEntry, into: &entry) { attributes[5 * a] }
        }
        if isEntry { consume(entry) }
    }
    guard xmlSAXUserParseFile(&handler, nil, arguments[2]) == 0 else {
        print("\(arguments[2]) is not well-formed")
        exit(65)
    }
}

/// The values on the reader, as Dropline and xmllint read them.
func readWithReader() {
    guard let reader = xmlReaderForFile(arguments[2], nil, Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_COMPACT.rawValue)) else {
        print("cannot open \(arguments[2])")
        exit(66)
    }
    while xmlTextReaderRead(reader) == 1 {
        nodes += 1
        guard mode != "walk", xmlTextReaderNodeType(reader) == Int32(XML_READER_TYPE_ELEMENT.rawValue) else { continue }
        let isEntry = (mode == "records" || mode == "checked") && xmlTextReaderDepth(reader) == 2
        var entry = Entry()
        while xmlTextReaderMoveToNextAttribute(reader) == 1 {
            guard let raw = xmlTextReaderConstValue(reader) else { continue }
            take(String(cString: raw), isEntry: isEntry, into: &entry) { xmlTextReaderConstLocalName(reader) }
        }
        xmlTextReaderMoveToElement(reader)
        if isEntry { consume(entry) }
    }
    xmlFreeTextReader(reader)
}

if mode.hasPrefix("sax") { readWithSAX() } else { readWithReader() }
print("\(mode): \(nodes) nodes, \(values) attribute values, \(records) records, \(invalid) invalid (\(checksum))")
