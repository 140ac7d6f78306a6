import CLibXML2
import DroplineCore

/// An element as the schema shortcut and the record extractor read it: a copied `XMLElement`,
/// or a libxml2 node read in place (`LiveElement`).
public protocol ElementView {
    var line: Int { get }
    func `is`(_ name: SpelledName) -> Bool
    func attribute(_ name: SpelledName) -> String?
    /// Calls `body` with the attribute's value as UTF-8 bytes (nil when there is none): read in
    /// place where the element keeps it, without a `String` made of it.
    func withAttribute<R>(_ name: SpelledName, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R
    /// `withAttribute`, helped by `interned`: what a reader learnt of the name in an element
    /// before (nil at first; see `LiveElement`). Kept by the caller for one document.
    func withAttribute<R>(_ name: SpelledName, interned: inout UnsafeRawPointer?, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R
    /// The text of the first child element named `name` (its direct text and CDATA joined);
    /// nil when there is none.
    func childText(_ name: SpelledName) -> String?
    /// `childText`, helped by `interned` as `withAttribute(_:interned:_:)` is.
    func childText(_ name: SpelledName, interned: inout UnsafeRawPointer?) -> String?
    /// Messages of XSD validation (nil: not validated); a live element is certainly valid.
    var schemaErrors: [String]? { get }
    /// Calls `body` with each child element and its index among them, in document order.
    func forEachChild(_ body: (Int, Self) throws -> Void) rethrows
}

/// A name with its bytes worked out once, for reading elements in place by it.
public struct SpelledName: Sendable {
    public let namespace: String?
    public let local: String
    let namespaceBytes: [UInt8]?
    let localBytes: [UInt8]

    public init(namespace: String?, local: String) {
        self.namespace = namespace
        self.local = local
        namespaceBytes = namespace.map { Array($0.utf8) }
        localBytes = Array(local.utf8)
    }

    /// Whether the NUL-terminated names are this one's.
    func spelled(namespace ns: UnsafePointer<xmlChar>?, local p: UnsafePointer<xmlChar>) -> Bool {
        localBytes.withUnsafeBufferPointer { XMLStreamReader.spelled(p, $0) } && XMLStreamReader.spelled(ns, namespaceBytes)
    }
}

extension XMLElement: ElementView {
    public func `is`(_ name: SpelledName) -> Bool { self.is(namespace: name.namespace, local: name.local) }
    public func attribute(_ name: SpelledName) -> String? { attribute(namespace: name.namespace, local: name.local) }

    public func withAttribute<R>(_ name: SpelledName, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        guard var value = attribute(name) else { return body(nil) }
        return value.withUTF8 { body($0) }
    }
    public func withAttribute<R>(_ name: SpelledName, interned: inout UnsafeRawPointer?, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        withAttribute(name, body)
    }
    public func childText(_ name: SpelledName) -> String? { children.first { $0.is(namespace: name.namespace, local: name.local) }?.text }
    public func childText(_ name: SpelledName, interned: inout UnsafeRawPointer?) -> String? { childText(name) }

    public func forEachChild(_ body: (Int, XMLElement) throws -> Void) rethrows {
        for (i, c) in children.enumerated() { try body(i, c) }
    }
}

/// An element of the unit `XMLStreamReader.nextUnit(liveIf:)` last returned, read in libxml2's
/// tree without copying it: valid only until the reader moves on. The reader hands one out only
/// for a unit that `convert` would copy without complaint and that the schema shortcut finds
/// certainly valid, so that reading it gives what reading its copy would.
public struct LiveElement: ElementView {
    let node: xmlNodePtr

    init(_ node: xmlNodePtr) { self.node = node }

    public var line: Int { Int(xmlGetLineNo(node)) }
    public var schemaErrors: [String]? { nil }

    /// The parent element (the root, for a unit); libxml2 keeps a unit's ancestors while it is
    /// read.
    public var parent: LiveElement? {
        guard let p = node.pointee.parent, p.pointee.type == XML_ELEMENT_NODE else { return nil }
        return LiveElement(p)
    }

    public func `is`(_ name: SpelledName) -> Bool {
        name.spelled(namespace: node.pointee.ns.flatMap { $0.pointee.href }, local: node.pointee.name)
    }

    public func attribute(_ name: SpelledName) -> String? {
        find(name).map(XMLStreamReader.value(of:))
    }

    public func withAttribute<R>(_ name: SpelledName, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        Self.withValue(of: find(name), body)
    }

    /// The attribute found by the address of its name where it can be: libxml2 keeps each name
    /// of a document once, in the document's dictionary, so a name learnt there (`interned`,
    /// the first time by its spelling) is then compared as one pointer, not byte by byte
    /// (finding a record's attributes by their spelling was a twentieth of the parsing
    /// thread). Only a name without a namespace is learnt; any other, and an attribute the
    /// element lacks, is looked for by its spelling.
    public func withAttribute<R>(_ name: SpelledName, interned: inout UnsafeRawPointer?, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        if let p = interned, p != Self.notInterned {
            var a = node.pointee.properties
            while let attr = a {
                if UnsafeRawPointer(attr.pointee.name) == p, attr.pointee.ns == nil { return Self.withValue(of: attr, body) }
                a = attr.pointee.next
            }
        }
        let attr = find(name)
        learn(&interned, name, attr?.pointee.name)
        return Self.withValue(of: attr, body)
    }

    /// Keeps in `interned`, the first time, the address of `found`, the name of what was found
    /// by `name`'s spelling, if the document's dictionary owns it (else `notInterned`): a
    /// pointer the dictionary owns stays its name's for the document's life. Only a name
    /// without a namespace is learnt.
    func learn(_ interned: inout UnsafeRawPointer?, _ name: SpelledName, _ found: UnsafePointer<xmlChar>?) {
        guard interned == nil, name.namespaceBytes == nil, let found else { return }
        let p = UnsafeRawPointer(found)
        interned = interns(p) ? p : Self.notInterned
    }

    /// What a reader keeps for a name found not interned (`interns`): the address of no name,
    /// so that it is neither compared nor asked about again.
    static var notInterned: UnsafeRawPointer { UnsafeRawPointer(bitPattern: 1)! }

    /// Calls `body` with the attribute's value as UTF-8 bytes (nil: no attribute).
    static func withValue<R>(of attr: xmlAttrPtr?, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        guard let attr else { return body(nil) }
        // The usual single text node is read in place; anything else is joined first.
        if let t = attr.pointee.children, t.pointee.next == nil, t.pointee.type == XML_TEXT_NODE, let content = t.pointee.content {
            return body(UnsafeBufferPointer(start: content, count: xmlLength(content)))
        }
        var value = XMLStreamReader.value(of: attr)
        return value.withUTF8 { body($0) }
    }

    func find(_ name: SpelledName) -> xmlAttrPtr? {
        var a = node.pointee.properties
        while let attr = a {
            if name.spelled(namespace: attr.pointee.ns.flatMap { $0.pointee.href }, local: attr.pointee.name) { return attr }
            a = attr.pointee.next
        }
        return nil
    }

    public func childText(_ name: SpelledName) -> String? { child(name).map(Self.text(of:)) }

    /// The direct text and CDATA of `node`, joined.
    static func text(of node: xmlNodePtr) -> String { LiveElement(node).withText { String(utf8Bytes: $0) } }

    /// The child found by the address of its name where it can be, as attributes are
    /// (`withAttribute(_:interned:_:)`): a master-data record's fields are a dozen child
    /// elements, and finding each by its spelling from the first child was a twentieth of the
    /// parsing thread's time for a worker file.
    public func childText(_ name: SpelledName, interned: inout UnsafeRawPointer?) -> String? {
        if let p = interned, p != Self.notInterned {
            var c = node.pointee.children
            while let child = c {
                if child.pointee.type == XML_ELEMENT_NODE, UnsafeRawPointer(child.pointee.name) == p, child.pointee.ns == nil { return Self.text(of: child) }
                c = child.pointee.next
            }
        }
        let found = child(name)
        learn(&interned, name, found?.pointee.name)
        return found.map(Self.text(of:))
    }

    /// The first child element named `name`, found by its spelling.
    func child(_ name: SpelledName) -> xmlNodePtr? {
        var c = node.pointee.children
        while let child = c {
            if child.pointee.type == XML_ELEMENT_NODE, LiveElement(child).is(name) { return child }
            c = child.pointee.next
        }
        return nil
    }

    public func forEachChild(_ body: (Int, LiveElement) throws -> Void) rethrows {
        var c = node.pointee.children
        var i = 0
        while let child = c {
            if child.pointee.type == XML_ELEMENT_NODE {
                try body(i, LiveElement(child))
                i += 1
            }
            c = child.pointee.next
        }
    }
}

/// What the schema shortcut reads of an element besides `ElementView`: its name, attributes
/// and direct text as bytes.
protocol ShortcutReadable: ElementView {
    var localName: String { get }
    /// Whether the element is in the namespace of `name`.
    func isInNamespace(of name: SpelledName) -> Bool
    /// Calls `body` with each attribute (whether it has a namespace, its local name, the address
    /// the element keeps that name at (nil: none to compare), its value) while it returns true;
    /// false when it returned false. The name is measured only if read (`AttributeName`).
    func allAttributes(_ body: (Bool, AttributeName, UnsafeRawPointer?, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool
    /// Whether a name's address from `allAttributes` is the only one of that name in the whole
    /// document (libxml2's dictionary owns it): then it stands for its spelling.
    func interns(_ name: UnsafeRawPointer) -> Bool
    /// Calls `body` with the element's direct text and CDATA content, joined.
    func withText<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R
    /// Whether the element's direct text is in text nodes only, every byte satisfying `test`
    /// (the parts read one by one, not joined): a CDATA section, even of whitespace, is never
    /// ignorable in element-only content for libxml2.
    func textOnly(_ test: (UInt8) -> Bool) -> Bool
}

/// An attribute's local name as `ShortcutReadable.allAttributes` gives it: libxml2's C string is
/// measured only when its bytes are read. The schema shortcut finds a declared attribute by the
/// address of its name, and reads the bytes only the first time (`strlen` for every attribute
/// was 1 % of the parsing thread).
struct AttributeName {
    private let start: UnsafePointer<UInt8>?
    private let count: Int

    /// A NUL-terminated name, measured when read.
    init(_ cString: UnsafePointer<UInt8>) {
        start = cString
        count = -1
    }

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        start = bytes.baseAddress
        count = bytes.count
    }

    var bytes: UnsafeBufferPointer<UInt8> {
        guard let start else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: start, count: count >= 0 ? count : xmlLength(start))
    }
}

extension XMLElement: ShortcutReadable {
    var localName: String { local }

    func isInNamespace(of name: SpelledName) -> Bool { namespace == name.namespace }

    func allAttributes(_ body: (Bool, AttributeName, UnsafeRawPointer?, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        for a in attributes {
            var local = a.local, value = a.value
            guard local.withUTF8({ l in value.withUTF8 { body(a.namespace != nil, AttributeName(l), nil, $0) } }) else { return false }
        }
        return true
    }

    func interns(_ name: UnsafeRawPointer) -> Bool { false }

    func withText<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var t = text
        return t.withUTF8(body)
    }

    func textOnly(_ test: (UInt8) -> Bool) -> Bool { !hasCDATA && text.utf8.allSatisfy(test) }
}

extension LiveElement: ShortcutReadable {
    var localName: String { String(cString: node.pointee.name) }

    func isInNamespace(of name: SpelledName) -> Bool { XMLStreamReader.spelled(node.pointee.ns.flatMap { $0.pointee.href }, name.namespaceBytes) }

    func allAttributes(_ body: (Bool, AttributeName, UnsafeRawPointer?, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        var a = node.pointee.properties
        while let attr = a {
            a = attr.pointee.next
            let name = AttributeName(attr.pointee.name)
            let address = UnsafeRawPointer(attr.pointee.name)
            let namespaced = attr.pointee.ns != nil
            // An attribute found always has a value (empty at least).
            guard LiveElement.withValue(of: attr, { body(namespaced, name, address, $0!) }) else { return false }
        }
        return true
    }

    func interns(_ name: UnsafeRawPointer) -> Bool {
        guard let dict = node.pointee.doc?.pointee.dict else { return false }
        return xmlDictOwns(dict, name.assumingMemoryBound(to: xmlChar.self)) == 1
    }

    func withText<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text: UnsafePointer<xmlChar>?
        var parts = 0
        var c = node.pointee.children
        while let child = c {
            if child.pointee.type == XML_TEXT_NODE || child.pointee.type == XML_CDATA_SECTION_NODE, let content = child.pointee.content {
                parts += 1
                text = UnsafePointer(content)
            }
            c = child.pointee.next
        }
        guard parts > 1 else {
            return body(text.map { UnsafeBufferPointer(start: $0, count: xmlLength($0)) } ?? UnsafeBufferPointer(start: nil, count: 0))
        }
        var joined = ""
        c = node.pointee.children
        while let child = c {
            if child.pointee.type == XML_TEXT_NODE || child.pointee.type == XML_CDATA_SECTION_NODE, let content = child.pointee.content {
                joined += String(cString: content)
            }
            c = child.pointee.next
        }
        return joined.withUTF8(body)
    }

    func textOnly(_ test: (UInt8) -> Bool) -> Bool {
        var c = node.pointee.children
        while let child = c {
            if child.pointee.type == XML_CDATA_SECTION_NODE { return false }
            if child.pointee.type == XML_TEXT_NODE, let content = child.pointee.content {
                var p = UnsafePointer(content)
                while p.pointee != 0 {
                    guard test(p.pointee) else { return false }
                    p += 1
                }
            }
            c = child.pointee.next
        }
        return true
    }
}
