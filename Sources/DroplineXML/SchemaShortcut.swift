import CLibXML2
import DroplineCore

/// A second, compiled reading of an interface XSD for the common case, so that a valid record
/// costs a few table lookups instead of a libxml2 validation. It understands a subset: global
/// elements whose complex types have a sequence of child elements and attributes of simple types
/// restricting `xs:string`, `xs:date`, `xs:dateTime` or `xs:nonNegativeInteger` with `pattern`,
/// `enumeration`, `minLength` and `maxLength`. `accepts` is true only for an element that is
/// certainly valid; for anything it cannot decide (another construct in its declaration,
/// non-ASCII text under a pattern, whitespace to collapse, an unusual date form) it is false,
/// and libxml2 validates the element as before, with its own messages.
final class SchemaShortcut {
    enum Base { case string, date, dateTime, nonNegativeInteger }

    struct SimpleType {
        var base: Base
        /// One entry per derivation step; a step's patterns are alternatives, steps all apply.
        var patterns: [[XSDPattern]] = []
        var enumerations: [Set<String>] = []
        var minLength: Int?
        var maxLength: Int?
    }

    /// A compiled simple type as the checks read it: an object, passed by reference, so that
    /// checking a value copies none of its patterns and sets (a `SimpleType` handed to a check
    /// was copied, its arrays retained and released, twice for every attribute of every record).
    final class TypeCheck {
        let type: SimpleType
        /// The type's one facet, when it has no other: a single pattern, whose automaton a
        /// reader may resume where the value it accepted last stops sharing bytes with the next
        /// (`Accepted.accepts(_:declaration:)`, which reads the copy each declaration keeps,
        /// `Attribute.soloPattern`). Its memory is this object's, freed with it.
        let soloPattern: XSDPattern.Resumable?

        init(_ type: SimpleType) {
            self.type = type
            let single = type.patterns.count == 1 && type.patterns[0].count == 1
            soloPattern = single && type.enumerations.isEmpty && type.minLength == nil && type.maxLength == nil ? XSDPattern.Resumable(type.patterns[0][0]) : nil
        }

        deinit { soloPattern?.deallocate() }
    }

    struct Attribute {
        let name: String
        let type: TypeCheck
        let required: Bool
        /// The name's bytes, compared with the bytes of an element's attribute names.
        let utf8: [UInt8]
        /// Its place in `Accepted`, unique in the schema.
        var slot = 0
        /// `type`'s base and single pattern, kept here too: a value is checked against them where
        /// the declarations are kept, the object not reached (through the declaration it was
        /// retained and released for every value checked). `type` owns the pattern's memory.
        let base: Base
        let soloPattern: XSDPattern.Resumable?

        init(name: String, type: SimpleType, required: Bool) {
            self.name = name
            self.type = TypeCheck(type)
            self.required = required
            utf8 = Array(name.utf8)
            base = type.base
            soloPattern = self.type.soloPattern
        }
    }

    enum Content {
        case empty
        case sequence([Particle])
        case simple(TypeCheck)
    }

    struct Particle {
        var element: ElementDecl
        var min: Int
        var max: Int?
    }

    final class ElementDecl {
        let namespace: String?
        let local: String
        let spelled: SpelledName
        var attributes: [Attribute] = []
        var requiredAttributes = 0
        var content: Content = .empty

        init(namespace: String?, local: String) {
            self.namespace = namespace
            self.local = local
            spelled = SpelledName(namespace: namespace, local: local)
        }
    }

    static let xsd = "http://www.w3.org/2001/XMLSchema"
    let targetNamespace: String?
    /// A name in the target namespace (its local part unused), to compare namespaces by.
    let inTargetNamespace: SpelledName
    /// Global elements the subset covers, by local name.
    private(set) var elements: [String: ElementDecl] = [:]
    /// Attributes declared in `elements` (and the elements they contain): `Attribute.slot`s.
    private(set) var slots = 0

    /// The last value each attribute declaration accepted (`Attribute.slot`), if it had 16
    /// bytes or fewer: the same bytes again are accepted without checking them. Most values of
    /// an export repeat the entry before's (a task, the hours, the category, often the date),
    /// and checking one cost about 250 instructions, a sixteenth of the parsing thread. Kept
    /// by each reader (`XMLStreamReader`), never in the shared schema.
    final class Accepted {
        /// By slot. Kept in memory of its own, read and written without an array's checks of
        /// uniqueness and bounds (an eighth of the shortcut's time when they were arrays).
        let last: UnsafeMutableBufferPointer<ShortBytes>
        /// The address each declaration's name is kept at in the document (`ShortcutReadable
        /// .interns`), once learnt: an attribute is then matched to its declaration by one
        /// pointer, not by its spelling (`LiveElement.notInterned`: the name was not interned,
        /// asked once).
        let names: UnsafeMutableBufferPointer<UnsafeRawPointer?>
        /// For a declaration whose type is one pattern (`TypeCheck.soloPattern`): the
        /// automaton's state after each of the first 0...16 bytes of `last` (`trailLength` a
        /// slot), valid while `last` holds a value the pattern accepted. The next value is read
        /// from where the two part: an entry id, a date, a project code mostly differ from the
        /// one before in their last byte or two, and reading a value whole cost about 14
        /// instructions a byte.
        let trails: UnsafeMutableBufferPointer<UInt16>
        static let trailLength = 17

        init(slots: Int) {
            last = .allocate(capacity: slots)
            last.initialize(repeating: ShortBytes())
            names = .allocate(capacity: slots)
            names.initialize(repeating: nil)
            trails = .allocate(capacity: slots * Self.trailLength)
            trails.initialize(repeating: 0)
        }

        deinit {
            last.deallocate()
            names.deallocate()
            trails.deallocate()
        }

        /// Whether the declaration's type accepts `bytes`: the value accepted last again at
        /// once; a pattern-only type's ASCII value of at most 16 bytes by its automaton resumed
        /// after the bytes it shares with the last one; anything else by `SchemaShortcut.accepts`.
        @inline(__always)
        func accepts(_ bytes: UnsafeBufferPointer<UInt8>, declaration d: UnsafePointer<Attribute>) -> Bool {
            let slot = d.pointee.slot
            guard let pattern = d.pointee.soloPattern else { return accepts(bytes, slot: slot) { SchemaShortcut.accepts(bytes, d.pointee.type) } }
            let short = ShortBytes(bytes)
            if let short, last[slot] == short { return true }
            guard let short, short.isASCII else {
                // Read whole (its trail not kept): the slot is left without a value to resume from.
                last[slot] = ShortBytes()
                return SchemaShortcut.accepts(bytes, d.pointee.type)
            }
            guard SchemaShortcut.baseAccepts(bytes, d.pointee.base) else { return false }
            let trail = trails.baseAddress! + slot * Self.trailLength
            // Bytes shared with the last value: its trail holds the state after them.
            let from = last[slot].holdsValue ? short.sharedPrefix(with: last[slot]) : 0
            guard pattern.resume(bytes, at: from, trail: trail) else {
                last[slot] = ShortBytes()
                return false
            }
            last[slot] = short
            return true
        }

        /// The index of the declared attribute named `local` (kept at `address`, if given).
        @inline(__always)
        func index<E: ShortcutReadable>(of local: AttributeName, at address: UnsafeRawPointer?, in declared: UnsafeBufferPointer<Attribute>, of el: E) -> Int? {
            if let address {
                for i in declared.indices where names[declared[i].slot] == address { return i }
            }
            guard let i = SchemaShortcut.index(of: local.bytes, in: declared) else { return nil }
            let slot = declared[i].slot
            if let address, names[slot] == nil { names[slot] = el.interns(address) ? address : LiveElement.notInterned }
            return i
        }

        /// Whether `check` accepts `bytes` for the declaration of `slot`, asked only when they
        /// are not the value it accepted last.
        @inline(__always)
        func accepts(_ bytes: UnsafeBufferPointer<UInt8>, slot: Int, _ check: () -> Bool) -> Bool {
            let short = ShortBytes(bytes)
            if let short, last[slot] == short { return true }
            guard check() else { return false }
            if let short { last[slot] = short }
            return true
        }
    }

    /// A memory of accepted values for one reader of this schema's documents.
    func acceptedValues() -> Accepted { Accepted(slots: slots) }

    // MARK: checking

    /// True only when `element` (a global element of the schema) is certainly valid. Children
    /// named in `excluding` are left out, as for a header validated without its nested records.
    func accepts<E: ShortcutReadable>(_ element: E, excluding: [SpelledName] = []) -> Bool {
        guard let decl = declaration(of: element) else { return false }
        return check(element, decl, excluding: excluding, accepted: acceptedValues())
    }

    /// The global element `name` as the shortcut covers it (nil: not covered), to `check`
    /// elements of that name without finding the declaration for each.
    func declaration(of name: SpelledName) -> ElementDecl? {
        guard name.namespace == targetNamespace, let decl = elements[name.local] else { return nil }
        return decl
    }

    /// The declaration of `element`'s name, if the shortcut covers it.
    func declaration<E: ShortcutReadable>(of element: E) -> ElementDecl? {
        guard element.isInNamespace(of: inTargetNamespace) else { return nil }
        return elements[element.localName]
    }

    /// `accepts` for an element named as `decl` (the caller knows), with the reader's memory of
    /// accepted values.
    func check<E: ShortcutReadable>(_ el: E, _ decl: ElementDecl, excluding: [SpelledName], accepted: Accepted) -> Bool {
        var required = 0
        // Declarations are read where the array keeps them: one copied out (by a subscript or a
        // loop) retained and released its name, patterns and sets, for every attribute checked.
        let attributesValid = decl.attributes.withUnsafeBufferPointer { declared in
            el.allAttributes { namespaced, local, address, value in
                guard !namespaced, let i = accepted.index(of: local, at: address, in: declared, of: el),
                    accepted.accepts(value, declaration: declared.baseAddress! + i)
                else { return false }
                if declared[i].required { required += 1 }
                return true
            }
        }
        guard attributesValid, required == decl.requiredAttributes else { return false }
        func excluded(_ child: E) -> Bool { excluding.contains { child.is($0) } }
        var valid = true
        switch decl.content {
        case .simple(let type):
            el.forEachChild { _, _ in valid = false }
            return valid && el.withText { Self.accepts($0, type) }
        case .empty:
            guard el.textOnly({ _ in false }) else { return false }
            el.forEachChild { _, child in if valid, !excluded(child) { valid = false } }
            return valid
        case .sequence(let particles):
            guard el.textOnly({ $0.isXMLSpace }) else { return false }
            var p = 0
            var count = 0
            el.forEachChild { _, child in
                guard valid, excluding.isEmpty || !excluded(child) else { return }
                while p < particles.count, !child.is(particles[p].element.spelled) || count == particles[p].max {
                    guard count >= particles[p].min else {
                        valid = false
                        return
                    }
                    p += 1
                    count = 0
                }
                guard p < particles.count, check(child, particles[p].element, excluding: [], accepted: accepted) else {
                    valid = false
                    return
                }
                count += 1
            }
            guard valid else { return false }
            while p < particles.count {
                guard count >= particles[p].min else { return false }
                p += 1
                count = 0
            }
            return true
        }
    }

    /// The index of the declared attribute named `local` (unqualified), if any.
    static func index(of local: UnsafeBufferPointer<UInt8>, in declared: UnsafeBufferPointer<Attribute>) -> Int? {
        for i in declared.indices {
            let found = declared[i].utf8.withUnsafeBufferPointer { name in
                guard name.count == local.count else { return false }
                for k in name.indices where name[k] != local[k] { return false }
                return true
            }
            if found { return i }
        }
        return nil
    }

    static func accepts(_ bytes: UnsafeBufferPointer<UInt8>, _ check: TypeCheck) -> Bool {
        // Read in place, part by part: `check.type` copied out would retain its arrays.
        guard baseAccepts(bytes, check.type.base) else { return false }
        let patternsMatch = check.type.patterns.withUnsafeBufferPointer { steps in
            steps.allSatisfy { step in step.withUnsafeBufferPointer { $0.contains { $0.matches(bytes) == true } } }
        }
        guard patternsMatch else { return false }
        let minLength = check.type.minLength, maxLength = check.type.maxLength
        if minLength != nil || maxLength != nil {
            let length = bytes.allSatisfy { $0 < 128 } ? bytes.count : String(decoding: bytes, as: UTF8.self).unicodeScalars.count
            if let minLength, length < minLength { return false }
            if let maxLength, length > maxLength { return false }
        }
        if !check.type.enumerations.isEmpty {
            let text = String(decoding: bytes, as: UTF8.self)
            guard check.type.enumerations.allSatisfy({ $0.contains(text) }) else { return false }
        }
        return true
    }

    /// Whether `bytes` are a plain lexical form of `base` (any text for a string): the other
    /// types collapse whitespace first, which is left to libxml2.
    static func baseAccepts(_ bytes: UnsafeBufferPointer<UInt8>, _ base: Base) -> Bool {
        base == .string || (!bytes.contains(where: \.isXMLSpace) && lexicallyValid(bytes, base))
    }

    /// The plain forms only: `YYYY-MM-DD`; `YYYY-MM-DDThh:mm:ss[.f+][Z|±hh:mm]`; digits.
    static func lexicallyValid(_ b: UnsafeBufferPointer<UInt8>, _ base: Base) -> Bool {
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for i in at..<(at + n) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        func date() -> Bool {
            guard b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
                let y = digits(0, 4), let m = digits(5, 2), let d = digits(8, 2), y >= 1, (1...12).contains(m), d >= 1
            else { return false }
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
            let days = m == 2 ? (leap ? 29 : 28) : m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31
            return d <= days
        }
        switch base {
        case .string: return true
        case .nonNegativeInteger: return (1...18).contains(b.count) && digits(0, b.count) != nil
        case .date: return b.count == 10 && date()
        case .dateTime:
            guard b.count >= 19, date(), b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
                let h = digits(11, 2), let mi = digits(14, 2), let s = digits(17, 2), h < 24, mi < 60, s < 60
            else { return false }
            var i = 19
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                let start = i
                while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
                guard i > start else { return false }
            }
            if i == b.count { return true }
            if b[i] == UInt8(ascii: "Z") { return i + 1 == b.count }
            guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"),
                let th = digits(i + 1, 2), let tm = digits(i + 4, 2)
            else { return false }
            return th < 14 && tm < 60
        }
    }

    // MARK: compiling

    /// An XSD element as read for compiling: QName values of `type`, `base` and `ref` resolved
    /// to `{namespace}local`.
    struct Node {
        var namespace: String?
        var local: String
        var attributes: [String: String]
        var children: [Node]
        var isXSD: Bool { namespace == SchemaShortcut.xsd }
        func kids() -> [Node] { children.filter { !($0.isXSD && $0.local == "annotation") } }
    }

    struct Unsupported: Error {}

    /// Nil when the file cannot be read or its top level has constructs outside the subset
    /// (imports, includes, groups): then every element goes to libxml2.
    init?(path: String) {
        guard let root = Self.read(path), root.isXSD, root.local == "schema" else { return nil }
        targetNamespace = root.attributes["targetNamespace"]
        inTargetNamespace = SpelledName(namespace: targetNamespace, local: "")
        let qualified = root.attributes["elementFormDefault"] == "qualified"
        guard (root.attributes["attributeFormDefault"] ?? "unqualified") == "unqualified" else { return nil }
        var simple: [String: Node] = [:]
        var complex: [String: Node] = [:]
        var globals: [Node] = []
        for n in root.kids() {
            guard n.isXSD, let name = n.attributes["name"] else { return nil }
            let key = "{\(targetNamespace ?? "")}\(name)"
            switch n.local {
            case "simpleType": simple[key] = n
            case "complexType": complex[key] = n
            case "element": globals.append(n)
            default: return nil
            }
        }
        var compiler = Compiler(targetNamespace: targetNamespace, qualified: qualified, simple: simple, complex: complex)
        let declared = Dictionary(globals.map { ($0.attributes["name"]!, ElementDecl(namespace: targetNamespace, local: $0.attributes["name"]!)) }, uniquingKeysWith: { a, _ in a })
        compiler.globals = declared
        var failed = Set<ObjectIdentifier>()
        for g in globals {
            let decl = declared[g.attributes["name"]!]!
            if (try? compiler.fill(decl, from: g)) == nil { failed.insert(ObjectIdentifier(decl)) }
        }
        // An element is covered when it and every global it refers to compiled.
        for decl in declared.values {
            var seen = Set<ObjectIdentifier>()
            if Self.usable(decl, failed: failed, seen: &seen) { elements[decl.local] = decl }
        }
        var numbered = Set<ObjectIdentifier>()
        for decl in elements.values { Self.number(decl, from: &slots, seen: &numbered) }
    }

    /// Gives each attribute of `decl` and of the elements it contains its `slot`.
    static func number(_ decl: ElementDecl, from next: inout Int, seen: inout Set<ObjectIdentifier>) {
        guard seen.insert(ObjectIdentifier(decl)).inserted else { return }
        for i in decl.attributes.indices {
            decl.attributes[i].slot = next
            next += 1
        }
        if case .sequence(let particles) = decl.content {
            for p in particles { number(p.element, from: &next, seen: &seen) }
        }
    }

    static func usable(_ decl: ElementDecl, failed: Set<ObjectIdentifier>, seen: inout Set<ObjectIdentifier>) -> Bool {
        if failed.contains(ObjectIdentifier(decl)) { return false }
        guard seen.insert(ObjectIdentifier(decl)).inserted, case .sequence(let particles) = decl.content else { return true }
        return particles.allSatisfy { usable($0.element, failed: failed, seen: &seen) }
    }

    struct Compiler {
        let targetNamespace: String?
        let qualified: Bool
        let simple: [String: Node]
        let complex: [String: Node]
        var globals: [String: ElementDecl] = [:]

        func fill(_ decl: ElementDecl, from n: Node) throws {
            for (k, _) in n.attributes where !["name", "type", "minOccurs", "maxOccurs", "ref"].contains(k) { throw Unsupported() }
            if let type = n.attributes["type"] {
                if let t = complex[type] {
                    try complexType(t, into: decl)
                } else {
                    decl.content = .simple(TypeCheck(try simpleType(named: type, depth: 0)))
                }
            } else {
                let inline = n.kids()
                guard inline.count == 1, inline[0].isXSD else { throw Unsupported() }
                switch inline[0].local {
                case "complexType": try complexType(inline[0], into: decl)
                case "simpleType": decl.content = .simple(TypeCheck(try simpleType(inline[0], depth: 0)))
                default: throw Unsupported()
                }
            }
        }

        func complexType(_ n: Node, into decl: ElementDecl) throws {
            for (k, _) in n.attributes where k != "name" { throw Unsupported() }
            var particles: [Particle]?
            for c in n.kids() {
                guard c.isXSD else { throw Unsupported() }
                switch c.local {
                case "sequence":
                    guard particles == nil, c.attributes.isEmpty else { throw Unsupported() }
                    particles = try c.kids().map(particle)
                    for (a, b) in zip(particles!, particles!.dropFirst()) where a.element.local == b.element.local && a.element.namespace == b.element.namespace {
                        throw Unsupported()
                    }
                case "attribute":
                    let a = try attribute(c)
                    guard !decl.attributes.contains(where: { $0.name == a.name }) else { throw Unsupported() }
                    decl.attributes.append(a)
                    if a.required { decl.requiredAttributes += 1 }
                default: throw Unsupported()
                }
            }
            decl.content = particles.map(Content.sequence) ?? .empty
        }

        func particle(_ n: Node) throws -> Particle {
            guard n.isXSD, n.local == "element" else { throw Unsupported() }
            let min = try occurs(n.attributes["minOccurs"]) ?? 1
            let maxText = n.attributes["maxOccurs"]
            let max: Int? = maxText == "unbounded" ? nil : (try occurs(maxText) ?? 1)
            if let max, max < min { throw Unsupported() }
            if let ref = n.attributes["ref"] {
                for (k, _) in n.attributes where !["ref", "minOccurs", "maxOccurs"].contains(k) { throw Unsupported() }
                guard let (ns, local) = split(ref), ns == targetNamespace, let g = globals[local] else { throw Unsupported() }
                return Particle(element: g, min: min, max: max)
            }
            guard let name = n.attributes["name"] else { throw Unsupported() }
            let decl = ElementDecl(namespace: qualified ? targetNamespace : nil, local: name)
            try fill(decl, from: n)
            return Particle(element: decl, min: min, max: max)
        }

        func occurs(_ text: String?) throws -> Int? {
            guard let text else { return nil }
            guard let v = Int(text), v >= 0 else { throw Unsupported() }
            return v
        }

        func attribute(_ n: Node) throws -> Attribute {
            for (k, _) in n.attributes where !["name", "type", "use"].contains(k) { throw Unsupported() }
            guard let name = n.attributes["name"] else { throw Unsupported() }
            let use = n.attributes["use"] ?? "optional"
            guard use == "optional" || use == "required" else { throw Unsupported() }
            let type: SimpleType
            if let t = n.attributes["type"] {
                guard n.kids().isEmpty else { throw Unsupported() }
                type = try simpleType(named: t, depth: 0)
            } else {
                let inline = n.kids()
                guard inline.count == 1, inline[0].isXSD, inline[0].local == "simpleType" else { throw Unsupported() }
                type = try simpleType(inline[0], depth: 0)
            }
            return Attribute(name: name, type: type, required: use == "required")
        }

        func simpleType(named qname: String, depth: Int) throws -> SimpleType {
            guard depth < 16 else { throw Unsupported() }
            switch qname {
            case "{\(SchemaShortcut.xsd)}string": return SimpleType(base: .string)
            case "{\(SchemaShortcut.xsd)}date": return SimpleType(base: .date)
            case "{\(SchemaShortcut.xsd)}dateTime": return SimpleType(base: .dateTime)
            case "{\(SchemaShortcut.xsd)}nonNegativeInteger": return SimpleType(base: .nonNegativeInteger)
            default:
                guard let n = simple[qname] else { throw Unsupported() }
                return try simpleType(n, depth: depth + 1)
            }
        }

        func simpleType(_ n: Node, depth: Int) throws -> SimpleType {
            for (k, _) in n.attributes where k != "name" { throw Unsupported() }
            let kids = n.kids()
            guard kids.count == 1, kids[0].isXSD, kids[0].local == "restriction", let base = kids[0].attributes["base"] else { throw Unsupported() }
            var type = try simpleType(named: base, depth: depth)
            var step: [XSDPattern] = []
            var enumeration: Set<String>?
            for f in kids[0].kids() {
                guard f.isXSD, let value = f.attributes["value"] else { throw Unsupported() }
                switch f.local {
                case "pattern":
                    guard let p = XSDPattern(value) else { throw Unsupported() }
                    step.append(p)
                case "enumeration":
                    guard type.base == .string else { throw Unsupported() }
                    enumeration = (enumeration ?? []).union([value])
                case "minLength", "maxLength":
                    guard type.base == .string, let v = Int(value), v >= 0 else { throw Unsupported() }
                    if f.local == "minLength" { type.minLength = max(type.minLength ?? 0, v) } else { type.maxLength = min(type.maxLength ?? v, v) }
                default: throw Unsupported()
                }
            }
            if !step.isEmpty { type.patterns.append(step) }
            if let enumeration { type.enumerations.append(enumeration) }
            return type
        }

        func split(_ clark: String) -> (String?, String)? {
            guard clark.hasPrefix("{"), let close = clark.firstIndex(of: "}") else { return nil }
            let ns = String(clark[clark.index(after: clark.startIndex)..<close])
            return (ns.isEmpty ? nil : ns, String(clark[clark.index(after: close)...]))
        }
    }

    /// Reads the XSD with libxml2's tree API (no network, no entities), resolving QName values.
    static func read(_ path: String) -> Node? {
        guard let doc = xmlReadFile(path, nil, Int32(XML_PARSE_NONET.rawValue)) else { return nil }
        defer { xmlFreeDoc(doc) }
        guard let root = xmlDocGetRootElement(doc) else { return nil }
        func text(_ p: UnsafePointer<xmlChar>?) -> String? { p.map { String(cString: $0) } }
        func convert(_ node: xmlNodePtr) -> Node {
            var attributes: [String: String] = [:]
            var a = node.pointee.properties
            while let attr = a {
                let name = text(attr.pointee.name) ?? ""
                if attr.pointee.ns == nil {
                    var value = ""
                    var t = attr.pointee.children
                    while let piece = t {
                        if let content = piece.pointee.content { value += String(cString: content) }
                        t = piece.pointee.next
                    }
                    if ["type", "base", "ref"].contains(name) {
                        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
                        let prefix = parts.count == 2 ? parts[0] : nil
                        let ns = xmlSearchNs(doc, node, prefix).flatMap { text($0.pointee.href) }
                        value = "{\(ns ?? "")}\(parts.last ?? "")"
                    }
                    attributes[name] = value
                } else {
                    attributes["{}" + name] = ""
                }
                a = attr.pointee.next
            }
            var children: [Node] = []
            var c = node.pointee.children
            while let child = c {
                if child.pointee.type == XML_ELEMENT_NODE { children.append(convert(child)) }
                c = child.pointee.next
            }
            return Node(namespace: node.pointee.ns.flatMap { text($0.pointee.href) }, local: text(node.pointee.name) ?? "", attributes: attributes, children: children)
        }
        return convert(root)
    }
}
