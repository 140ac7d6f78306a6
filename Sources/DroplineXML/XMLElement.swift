/// A record-sized XML subtree copied out of libxml2: names, attributes, text, children, line.
/// Built for one unit (a child of the root) at a time, so memory stays bounded by record size.
public final class XMLElement {
    public let namespace: String?
    public let local: String
    public var attributes: [XMLAttribute]
    public var children: [XMLElement]
    /// Concatenated direct text and CDATA content (not that of children).
    public var text: String
    /// Whether some of `text` came from a CDATA section.
    public var hasCDATA = false
    public let line: Int
    /// Messages from XSD validation of this element (as a record or header), if validated.
    public var schemaErrors: [String]?
    /// Whether the element had non-whitespace text directly inside (mixed content).
    public var hasText: Bool { !text.allSatisfy(\.isWhitespace) }

    public init(namespace: String?, local: String, attributes: [XMLAttribute] = [], children: [XMLElement] = [], text: String = "", line: Int) {
        self.namespace = namespace
        self.local = local
        self.attributes = attributes
        self.children = children
        self.text = text
        self.line = line
    }

    public func attribute(namespace: String?, local: String) -> String? {
        attributes.first { $0.local == local && $0.namespace == namespace }?.value
    }

    public func `is`(namespace: String?, local: String) -> Bool {
        self.local == local && self.namespace == namespace
    }

    /// `{ns}local` or `local`, for messages.
    public var qualifiedName: String { namespace.map { "{\($0)}\(local)" } ?? local }
}

public struct XMLAttribute: Sendable, Hashable {
    public var namespace: String?
    public var local: String
    public var value: String

    public init(namespace: String?, local: String, value: String) {
        self.namespace = namespace
        self.local = local
        self.value = value
    }
}

/// An element name as libxml2 reports it, for plans passed into the reader.
public struct XMLName: Sendable, Hashable {
    public var namespace: String?
    public var local: String
    public init(namespace: String?, local: String) {
        self.namespace = namespace
        self.local = local
    }
}

/// Parser limits; anything beyond them is a file failure, never unbounded memory.
public struct XMLLimits: Sendable {
    /// Largest serialised size of one child of the root (a record with its children).
    public var maxUnitBytes: Int
    /// Deepest element nesting.
    public var maxDepth: Int
    /// Most attributes on one element.
    public var maxAttributes: Int
    /// Longest text content or attribute value of one node, in bytes.
    public var maxTextBytes: Int

    public init(maxUnitBytes: Int = 1 << 20, maxDepth: Int = 256, maxAttributes: Int = 256, maxTextBytes: Int = 1 << 20) {
        self.maxUnitBytes = maxUnitBytes
        self.maxDepth = maxDepth
        self.maxAttributes = maxAttributes
        self.maxTextBytes = maxTextBytes
    }
}
