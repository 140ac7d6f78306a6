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
import CLibXML2

let arguments = CommandLine.arguments
guard arguments.count == 3, ["walk", "strings", "records"].contains(arguments[1]) else {
    print("usage: swift-floor walk|strings|records FILE")
    exit(64)
}
let mode = arguments[1]
guard let reader = xmlReaderForFile(arguments[2], nil, Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_COMPACT.rawValue)) else {
    print("cannot open \(arguments[2])")
    exit(66)
}

struct Entry {
    var fields: [String?] = Array(repeating: nil, count: 6)
}
let names = ["id", "date", "project", "task", "hours", "category"]
var nodes = 0, values = 0, records = 0, checksum = 0

func consume(_ entry: Entry) {
    records += 1
    checksum &+= entry.fields[4]?.utf8.count ?? 0
}

while xmlTextReaderRead(reader) == 1 {
    nodes += 1
    guard mode != "walk", xmlTextReaderNodeType(reader) == Int32(XML_READER_TYPE_ELEMENT.rawValue) else { continue }
    let isEntry = mode == "records" && xmlTextReaderDepth(reader) == 2
    var entry = Entry()
    while xmlTextReaderMoveToNextAttribute(reader) == 1 {
        guard let raw = xmlTextReaderConstValue(reader) else { continue }
        let value = String(cString: raw)
        values += 1
        if isEntry, let local = xmlTextReaderConstLocalName(reader) {
            let name = String(cString: local)
            if let i = names.firstIndex(of: name) { entry.fields[i] = value }
        } else {
            checksum &+= value.utf8.count
        }
    }
    xmlTextReaderMoveToElement(reader)
    if isEntry { consume(entry) }
}
xmlFreeTextReader(reader)
print("\(mode): \(nodes) nodes, \(values) attribute values, \(records) records (\(checksum))")
