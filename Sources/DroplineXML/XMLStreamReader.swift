import CLibXML2
import DroplineCore
import Foundation

/// The length of a libxml2 string: libc's `strlen`, without `xmlStrlen`'s own call around it
/// (called for every attribute value and text two or three times, 2.2 M calls on the parsing
/// thread of the 10 MB night).
@inline(__always)
func xmlLength(_ s: UnsafeRawPointer) -> Int { strlen(s.assumingMemoryBound(to: CChar.self)) }

/// Streams a file with libxml2's `xmlTextReader`: the root's attributes, then each child of the
/// root expanded on its own (a record or the trailer), then the end of the document. The only
/// type that drives the libxml2 parser. Opened with `XML_PARSE_NONET`, never `XML_PARSE_NOENT`
/// or DTD loading; a DOCTYPE is refused. Not `Sendable`: confine it to one task.
public final class XMLStreamReader {
    /// What to validate while a unit's libxml2 tree is still alive.
    public struct ValidationPlan {
        public var schema: XMLSchema
        /// Elements nested in a unit that are records of their own: validated one by one, and
        /// removed from the unit before the unit (a header) is validated.
        public var nestedRecords: Set<XMLName> {
            didSet { spelledNested = nestedRecords.map { SpelledName(namespace: $0.namespace, local: $0.local) } }
        }
        /// `nestedRecords`, for reading units in place.
        private(set) var spelledNested: [SpelledName]
        /// The trailer: validated with a copy of the root's attributes (the root level).
        public var trailer: XMLName

        public init(schema: XMLSchema, nestedRecords: Set<XMLName>, trailer: XMLName) {
            self.schema = schema
            self.nestedRecords = nestedRecords
            spelledNested = nestedRecords.map { SpelledName(namespace: $0.namespace, local: $0.local) }
            self.trailer = trailer
        }
    }

    let reader: xmlTextReaderPtr
    let errors = XMLErrorCollector()
    let limits: XMLLimits
    let plan: ValidationPlan?
    var advanceBySkipping = false
    var rootClosed = false
    public private(set) var root: XMLElement?
    /// Non-whitespace text directly inside the root (a top-level structure fault).
    public private(set) var strayText = false
    /// XSD messages for the root level (root attributes and trailer), once the trailer was read.
    public private(set) var rootLevelErrors: [String]?

    public static let parseOptions: Int32 = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_COMPACT.rawValue)

    public init(path: String, limits: XMLLimits = XMLLimits(), plan: ValidationPlan? = nil) throws {
        xmlInitParser()
        try Self.checkByteOrderMark(path: path)
        guard let r = xmlReaderForFile(path, nil, Self.parseOptions) else {
            throw FileFailure(.unreadableFile, "cannot open the file for reading")
        }
        reader = r
        self.limits = limits
        self.plan = plan
        nestedDeclarations = plan.map { p in p.spelledNested.map { p.schema.shortcut?.declaration(of: $0) } } ?? []
        accepted = plan?.schema.shortcut?.acceptedValues() ?? SchemaShortcut.Accepted(slots: 0)
        xmlTextReaderSetStructuredErrorHandler(r, XMLErrorCollector.callback, Unmanaged.passUnretained(errors).toOpaque())
    }

    /// A byte-order mark and an XML declaration that name different encodings are an error
    /// (XML 1.0 §4.3.3); libxml2 would silently follow the mark.
    static func checkByteOrderMark(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 256)) ?? Data())
        var mark: String?
        var text = ""
        if head.starts(with: [0xEF, 0xBB, 0xBF]) {
            mark = "UTF-8"
            text = String(decoding: head.dropFirst(3), as: UTF8.self)
        } else if head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF]) {
            mark = "UTF-16"
            let le = head[0] == 0xFF
            var units: [UInt16] = []
            var i = 2
            while i + 1 < head.count {
                units.append(le ? UInt16(head[i]) | UInt16(head[i + 1]) << 8 : UInt16(head[i]) << 8 | UInt16(head[i + 1]))
                i += 2
            }
            text = String(decoding: units, as: UTF16.self)
        }
        guard let mark, text.hasPrefix("<?xml"), let end = text.range(of: "?>") else { return }
        let decl = text[..<end.lowerBound]
        guard let r = decl.range(of: #"encoding\s*=\s*["']([A-Za-z0-9._-]+)["']"#, options: .regularExpression) else { return }
        let declared = decl[r].split(whereSeparator: { $0 == "\"" || $0 == "'" }).dropFirst().first.map { $0.uppercased() } ?? ""
        let compatible = mark == "UTF-8" ? ["UTF-8", "UTF8"].contains(declared) : declared.hasPrefix("UTF-16") || declared.hasPrefix("UTF16") || declared == "UCS-2" || declared == "ISO-10646-UCS-2"
        if !compatible {
            throw FileFailure(.badEncoding, "the file starts with a \(mark) byte-order mark but declares encoding \(declared)", line: 1, byteOffset: 0)
        }
    }

    deinit {
        xmlTextReaderClose(reader)
        xmlFreeTextReader(reader)
        recent.deinitialize(count: Self.recentSlots)
        recent.deallocate()
    }

    /// Bytes of input consumed so far.
    public var bytesConsumed: Int { Int(xmlTextReaderByteConsumed(reader)) }

    /// `bytesConsumed` once the last unit `nextUnit` returned was read to its end.
    public private(set) var unitEnd = 0

    /// Advances to the root element and returns it with its attributes (no children).
    public func readRoot() throws -> XMLElement {
        while true {
            let rc = try step(skip: false)
            if rc == 0 { throw FileFailure(.notWellFormed, "the document has no root element", byteOffset: bytesConsumed) }
            switch xmlTextReaderNodeType(reader) {
            case Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue):
                throw doctypeRefused()
            case Int32(XML_READER_TYPE_ELEMENT.rawValue):
                guard let node = xmlTextReaderCurrentNode(reader) else { continue }
                let element = XMLElement(namespace: internedNamespace(node), local: internedName(node), attributes: internedAttributes(node), line: Int(xmlGetLineNo(node)))
                if xmlTextReaderIsEmptyElement(reader) == 1 { rootClosed = true }
                root = element
                return element
            default:
                continue
            }
        }
    }

    /// The next element child of the root, expanded with its subtree; nil once the root closes.
    public func nextUnit() throws -> XMLElement? {
        guard let node = try nextUnitNode() else { return nil }
        return try copy(node)
    }

    /// A unit as `nextUnit(liveIf:)` gives it.
    public enum Unit {
        /// Read in place: plain, and certainly valid where a schema applies.
        case live(LiveElement)
        /// Copied, with its schema messages.
        case copied(XMLElement)
    }

    /// The next unit like `nextUnit`, but left in libxml2's tree (valid until the next call)
    /// when `wanted` says so of it, nothing in it is beyond the limits or unusual (an entity
    /// reference, an attribute value in parts), and the schema shortcut finds every part the
    /// plan validates certainly valid: reading it then gives exactly what reading its copy
    /// would, without copying it. Anything else is copied and validated as `nextUnit` does.
    public func nextUnit(liveIf wanted: (LiveElement) -> Bool) throws -> Unit? {
        guard let node = try nextUnitNode() else { return nil }
        let live = LiveElement(node)
        if wanted(live), isPlain(node, depth: 1), certainlyValid(live) { return .live(live) }
        return .copied(try copy(node))
    }

    /// Steps to the next element child of the root and expands it; nil once the root closes.
    func nextUnitNode() throws -> xmlNodePtr? {
        while !rootClosed {
            let rc = try step(skip: advanceBySkipping)
            advanceBySkipping = false
            if rc == 0 {
                throw FileFailure(.notWellFormed, "the document ends before its root element is closed (truncated?)", byteOffset: bytesConsumed)
            }
            let type = xmlTextReaderNodeType(reader)
            let depth = xmlTextReaderDepth(reader)
            switch type {
            case Int32(XML_READER_TYPE_END_ELEMENT.rawValue) where depth == 0:
                rootClosed = true
                return nil
            case Int32(XML_READER_TYPE_ELEMENT.rawValue) where depth == 1:
                let before = bytesConsumed
                guard let node = xmlTextReaderExpand(reader) else {
                    try checkErrors()
                    throw FileFailure(.notWellFormed, "a record could not be read to its end", line: Int(xmlTextReaderGetParserLineNumber(reader)), byteOffset: bytesConsumed)
                }
                try checkErrors()
                // Asked once: with an encoding other than UTF-8, libxml2 converts what it has
                // buffered back to count the bytes.
                unitEnd = bytesConsumed
                if unitEnd - before > limits.maxUnitBytes {
                    throw FileFailure(.sizeLimit, "a record is larger than max_record_bytes (\(limits.maxUnitBytes) bytes)", line: Int(xmlGetLineNo(node)))
                }
                advanceBySkipping = true
                return node
            case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue):
                if depth == 1, let v = xmlTextReaderConstValue(reader), !String(cString: v).allSatisfy(\.isWhitespace) {
                    strayText = true
                }
            default:
                continue
            }
        }
        return nil
    }

    /// The unit copied out of libxml2, validated by the plan.
    func copy(_ node: xmlNodePtr) throws -> XMLElement {
        let element = try convert(node, depth: 1)
        if let plan { validate(node, element, plan) }
        return element
    }

    /// Whether `convert` would copy the subtree without complaint and every attribute value is
    /// a single text node (read in place): within the limits, no entity reference.
    func isPlain(_ node: xmlNodePtr, depth: Int) -> Bool {
        guard depth <= limits.maxDepth else { return false }
        var attributes = 0
        var a = node.pointee.properties
        while let attr = a {
            attributes += 1
            guard let t = attr.pointee.children, t.pointee.next == nil, t.pointee.type == XML_TEXT_NODE, let content = t.pointee.content,
                xmlLength(content) <= limits.maxTextBytes
            else { return false }
            a = attr.pointee.next
        }
        guard attributes <= limits.maxAttributes else { return false }
        var text = 0
        var c = node.pointee.children
        while let child = c {
            switch child.pointee.type {
            case XML_ELEMENT_NODE:
                guard isPlain(child, depth: depth + 1) else { return false }
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                text += child.pointee.content.map { xmlLength($0) } ?? 0
                guard text <= limits.maxTextBytes else { return false }
            case XML_ENTITY_REF_NODE:
                return false
            default:
                break
            }
            c = child.pointee.next
        }
        return true
    }

    /// Whether `validate` would find nothing wrong with the unit without asking libxml2: every
    /// part it validates is certainly valid by the schema shortcut (true without a plan).
    func certainlyValid(_ unit: LiveElement) -> Bool {
        guard let plan else { return true }
        guard let shortcut = plan.schema.shortcut else { return false }
        var hasNested = false
        var valid = true
        unit.forEachChild { _, child in
            guard valid, let k = plan.spelledNested.firstIndex(where: { child.is($0) }) else { return }
            hasNested = true
            // Named as `spelledNested[k]`, whose declaration it is.
            valid = nestedDeclarations[k].map { shortcut.check(child, $0, excluding: [], accepted: accepted) } ?? false
        }
        guard valid else { return false }
        let excluding = hasNested ? plan.spelledNested : []
        // Units of a file are mostly of one type: its declaration is kept, not looked up by name
        // for every unit.
        if let decl = unitDeclaration, unit.is(decl.spelled) { return shortcut.check(unit, decl, excluding: excluding, accepted: accepted) }
        unitDeclaration = shortcut.declaration(of: unit)
        guard let decl = unitDeclaration else { return false }
        return shortcut.check(unit, decl, excluding: excluding, accepted: accepted)
    }

    /// The shortcut's declarations of `plan.spelledNested`, in its order (nil: not covered).
    let nestedDeclarations: [SchemaShortcut.ElementDecl?]
    /// The declaration of the last unit checked by the shortcut.
    var unitDeclaration: SchemaShortcut.ElementDecl?
    /// The values the shortcut accepted last, for this reader alone.
    let accepted: SchemaShortcut.Accepted

    /// The reader stands on a DOCTYPE: never loaded, the document is refused there.
    func doctypeRefused() -> FileFailure {
        FileFailure(.dtdForbidden, "the document has a DOCTYPE; exports never carry one and no DTD is ever loaded",
                    line: Int(xmlTextReaderGetParserLineNumber(reader)), column: Int(xmlTextReaderGetParserColumnNumber(reader)))
    }

    /// Whether the NUL-terminated `p` holds exactly `bytes` (both nil: no name).
    static func spelled(_ p: UnsafePointer<xmlChar>?, _ bytes: [UInt8]?) -> Bool {
        guard let bytes else { return p == nil }
        guard let p else { return false }
        return bytes.withUnsafeBufferPointer { spelled(p, $0) }
    }

    /// Whether the NUL-terminated `p` holds exactly the bytes `u` (which hold no NUL). A long
    /// one (a namespace URI, asked of every element a unit's check and its records read) is
    /// compared by `strncmp`, which stops at `p`'s end: byte by byte it cost about 150
    /// instructions an element.
    static func spelled(_ p: UnsafePointer<xmlChar>, _ u: UnsafeBufferPointer<UInt8>) -> Bool {
        if u.count >= 16, let b = u.baseAddress {
            return p.withMemoryRebound(to: CChar.self, capacity: u.count + 1) { c in
                b.withMemoryRebound(to: CChar.self, capacity: u.count) { strncmp(c, $0, u.count) == 0 } && c[u.count] == 0
            }
        }
        for i in 0..<u.count where p[i] != u[i] { return false }
        return p[u.count] == 0
    }

    /// An attribute's value: its text nodes joined.
    static func value(of attr: xmlAttrPtr) -> String {
        var c = attr.pointee.children
        // The usual single text node: one string, nothing appended.
        if let t = c, t.pointee.next == nil { return t.pointee.content.map { String(cString: $0) } ?? "" }
        var value = ""
        while let t = c {
            if let content = t.pointee.content { value += String(cString: content) }
            c = t.pointee.next
        }
        return value
    }

    /// Reads past the root to the end of the document; anything malformed after it fails.
    public func finish() throws {
        while try step(skip: advanceBySkipping) == 1 { advanceBySkipping = false }
    }

    // MARK: libxml2 plumbing

    func step(skip: Bool) throws -> Int32 {
        let rc = skip ? xmlTextReaderNext(reader) : xmlTextReaderRead(reader)
        try checkErrors()
        if rc < 0 {
            throw FileFailure(.notWellFormed, "the XML parser stopped", line: Int(xmlTextReaderGetParserLineNumber(reader)), byteOffset: bytesConsumed)
        }
        if rc == 1, xmlTextReaderDepth(reader) > limits.maxDepth {
            throw FileFailure(.depthLimit, "elements are nested deeper than \(limits.maxDepth) levels", line: Int(xmlTextReaderGetParserLineNumber(reader)))
        }
        return rc
    }

    /// Errors (not warnings) are fatal, namespace errors included: a namespace-aware XML 1.0
    /// reader must refuse documents that break the Namespaces rules.
    func checkErrors() throws {
        guard let e = errors.errors.first(where: { $0.level.rawValue >= XML_ERR_ERROR.rawValue }) else {
            errors.errors.removeAll()
            return
        }
        let offset = bytesConsumed
        throw FileFailure(Self.classify(e), Self.forPeople(e.message), line: e.line > 0 ? e.line : nil, column: e.column > 0 ? e.column : nil, byteOffset: offset)
    }

    /// libxml2's message without its advice to programmers ("use XML_PARSE_HUGE option"), which
    /// names a parser flag no user of Dropline can set.
    static func forPeople(_ message: String) -> String {
        var m = message
        for advice in ["use XML_PARSE_HUGE option", "use XML_PARSE_HUGE"] {
            m = m.replacingOccurrences(of: advice, with: "")
        }
        m = m.trimmingCharacters(in: .whitespaces)
        while m.hasSuffix(",") { m = String(m.dropLast()).trimmingCharacters(in: .whitespaces) }
        return m
    }

    static func classify(_ e: XMLErrorCollector.Entry) -> ReasonCode {
        switch e.code {
        case Int32(XML_ERR_INVALID_ENCODING.rawValue), Int32(XML_ERR_UNKNOWN_ENCODING.rawValue),
            Int32(XML_ERR_UNSUPPORTED_ENCODING.rawValue), Int32(XML_I18N_CONV_FAILED.rawValue):
            return .badEncoding
        case Int32(XML_ERR_INVALID_CHAR.rawValue) where e.message.contains("UTF-8") || e.message.contains("encoding"):
            return .badEncoding
        case Int32(XML_ERR_ENTITY_LOOP.rawValue):
            return .entityLimit
        default:
            if e.message.contains("Input is not proper") || e.message.contains("encoding error") { return .badEncoding }
            if e.message.lowercased().contains("amplification") { return .entityLimit }
            if e.message.contains("Excessive depth") { return .depthLimit }
            // libxml2's own limits without XML_PARSE_HUGE: 10 MB text nodes and attribute values,
            // bounded lookahead for one markup construct (a start tag with a million attributes).
            if e.message.contains("Huge input lookup") || e.message.contains("huge text node") || e.message.contains("too long") || e.message.contains("Name too long") { return .sizeLimit }
            return .notWellFormed
        }
    }

    /// Swift strings of names and namespace URIs, made once per pointer: the string last made
    /// in each of 256 slots chosen by the pointer. A hit is checked byte for byte, since not all
    /// of them live as long as the document: a namespace declared on a record is freed with it,
    /// and its memory may then hold another record's URI (a cache trusting the pointer alone
    /// gave records the namespace of an earlier one). Checking is cheaper than hashing.
    static let recentSlots = 256
    let recent: UnsafeMutablePointer<(key: UnsafeRawPointer?, value: String)> = {
        let p = UnsafeMutablePointer<(key: UnsafeRawPointer?, value: String)>.allocate(capacity: recentSlots)
        p.initialize(repeating: (nil, ""), count: recentSlots)
        return p
    }()

    func intern(_ p: UnsafePointer<xmlChar>) -> String {
        let key = UnsafeRawPointer(p)
        let slot = recent + Int(UInt(bitPattern: key) >> 3 & UInt(Self.recentSlots - 1))
        if slot.pointee.key == key, Self.spells(slot.pointee.value, p) { return slot.pointee.value }
        let s = String(cString: p)
        slot.pointee = (key, s)
        return s
    }

    /// Whether the NUL-terminated `p` holds exactly the UTF-8 of `s` (which has no NUL).
    static func spells(_ s: String, _ p: UnsafePointer<xmlChar>) -> Bool {
        var s = s
        return s.withUTF8 { spelled(p, $0) }
    }

    func internedName(_ node: xmlNodePtr) -> String { intern(node.pointee.name) }

    func internedNamespace(_ node: xmlNodePtr) -> String? {
        node.pointee.ns.flatMap { $0.pointee.href }.map(intern)
    }

    func internedAttributes(_ node: xmlNodePtr) -> [XMLAttribute] {
        var out: [XMLAttribute] = []
        var count = 0
        var p = node.pointee.properties
        while let attr = p {
            count += 1
            p = attr.pointee.next
        }
        out.reserveCapacity(count)
        var a = node.pointee.properties
        while let attr = a {
            out.append(XMLAttribute(namespace: attr.pointee.ns.flatMap { $0.pointee.href }.map(intern), local: intern(attr.pointee.name), value: Self.value(of: attr)))
            a = attr.pointee.next
        }
        return out
    }

    func convert(_ node: xmlNodePtr, depth: Int) throws -> XMLElement {
        if depth > limits.maxDepth {
            throw FileFailure(.depthLimit, "elements are nested deeper than \(limits.maxDepth) levels", line: Int(xmlGetLineNo(node)))
        }
        let element = XMLElement(namespace: internedNamespace(node), local: internedName(node), attributes: internedAttributes(node), line: Int(xmlGetLineNo(node)))
        if element.attributes.count > limits.maxAttributes {
            throw FileFailure(.sizeLimit, "an element has \(element.attributes.count) attributes; max_attributes is \(limits.maxAttributes)", line: element.line)
        }
        if let long = element.attributes.first(where: { $0.value.utf8.count > limits.maxTextBytes }) {
            throw FileFailure(.sizeLimit, "attribute \(long.local) has \(long.value.utf8.count) bytes; max_text_bytes is \(limits.maxTextBytes)", line: element.line)
        }
        var c = node.pointee.children
        while let child = c {
            switch child.pointee.type {
            case XML_ELEMENT_NODE:
                element.children.append(try convert(child, depth: depth + 1))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if child.pointee.type == XML_CDATA_SECTION_NODE { element.hasCDATA = true }
                if let content = child.pointee.content {
                    element.text += String(cString: content)
                    if element.text.utf8.count > limits.maxTextBytes {
                        throw FileFailure(.sizeLimit, "a text node has more than max_text_bytes (\(limits.maxTextBytes) bytes)", line: Int(xmlGetLineNo(child)))
                    }
                }
            case XML_ENTITY_REF_NODE:
                throw FileFailure(.entityLimit, "the document references an entity; entities are never expanded", line: Int(xmlGetLineNo(child)))
            default:
                break
            }
            c = child.pointee.next
        }
        return element
    }

    func validate(_ node: xmlNodePtr, _ element: XMLElement, _ plan: ValidationPlan) {
        let name = XMLName(namespace: element.namespace, local: element.local)
        if name == plan.trailer {
            rootLevelErrors = validateRootLevel(trailer: node, plan.schema)
            return
        }
        var hasNested = false
        var c = node.pointee.children
        var index = 0
        while let child = c {
            if child.pointee.type == XML_ELEMENT_NODE {
                if plan.nestedRecords.contains(XMLName(namespace: internedNamespace(child), local: internedName(child))) {
                    hasNested = true
                    let record = element.children[index]
                    record.schemaErrors = plan.schema.certainlyValid(record) ? [] : plan.schema.validate(element: child)
                }
                index += 1
            }
            c = child.pointee.next
        }
        guard hasNested else {
            element.schemaErrors = plan.schema.certainlyValid(element) ? [] : plan.schema.validate(element: node)
            return
        }
        if plan.schema.shortcut?.accepts(element, excluding: plan.spelledNested) == true {
            element.schemaErrors = []
            return
        }
        // Header: a copy without the nested records, with its own text (text where its type
        // allows none breaks the schema, as it does for any other element).
        guard let copy = xmlDocCopyNode(node, node.pointee.doc, 2) else { return }
        defer { xmlFreeNode(copy) }
        c = node.pointee.children
        while let child = c {
            let kept = switch child.pointee.type {
            case XML_ELEMENT_NODE: !plan.nestedRecords.contains(XMLName(namespace: internedNamespace(child), local: internedName(child)))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE: true
            default: false
            }
            if kept, let cc = xmlDocCopyNode(child, node.pointee.doc, 1) {
                // Adjacent text nodes are merged by xmlAddChild; the copy is freed just the same.
                xmlAddChild(copy, cc)
            }
            c = child.pointee.next
        }
        element.schemaErrors = plan.schema.validate(element: copy)
    }

    /// The root with its attributes and the trailer, as a document of its own: valid exactly when
    /// root attributes and trailer are, because records are optional in every interface.
    func validateRootLevel(trailer: xmlNodePtr, _ schema: XMLSchema) -> [String] {
        guard let rootNode = trailer.pointee.parent, let doc = xmlNewDoc("1.0") else { return ["cannot copy the root"] }
        defer { xmlFreeDoc(doc) }
        guard let rootCopy = xmlDocCopyNode(rootNode, doc, 2) else { return ["cannot copy the root"] }
        xmlDocSetRootElement(doc, rootCopy)
        if let t = xmlDocCopyNode(trailer, doc, 1) { xmlAddChild(rootCopy, t) }
        return schema.validate(document: doc)
    }
}
