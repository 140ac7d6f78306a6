import CLibXML2
import DroplineCore

/// A compiled XML Schema used to validate single records (global element declarations) and the
/// root level of a file (root attributes plus trailer), without loading the whole document.
public final class XMLSchema {
    let schema: xmlSchemaPtr
    let context: xmlSchemaValidCtxtPtr
    let collector = XMLErrorCollector()
    public let path: String
    /// Decides the common valid record without libxml2 (nil: every element goes to libxml2).
    let shortcut: SchemaShortcut?

    /// `shortcut: false` validates every element with libxml2 (to compare the two in tests).
    public init(path: String, shortcut useShortcut: Bool = true) throws {
        xmlInitParser()
        self.path = path
        shortcut = useShortcut ? SchemaShortcut(path: path) : nil
        guard let parser = xmlSchemaNewParserCtxt(path) else {
            throw FileFailure(.unreadableFile, "cannot open schema \(path)")
        }
        defer { xmlSchemaFreeParserCtxt(parser) }
        let parseErrors = XMLErrorCollector()
        xmlSchemaSetParserStructuredErrors(parser, XMLErrorCollector.callback, Unmanaged.passUnretained(parseErrors).toOpaque())
        guard let schema = withExtendedLifetime(parseErrors, { xmlSchemaParse(parser) }) else {
            throw FileFailure(.schemaRoot, "schema \(path) does not compile: \(parseErrors.errors.first?.message ?? "unknown error")")
        }
        self.schema = schema
        guard let context = xmlSchemaNewValidCtxt(schema) else {
            xmlSchemaFree(schema)
            throw FileFailure(.unreadableFile, "cannot create a validation context for \(path)")
        }
        self.context = context
        xmlSchemaSetValidStructuredErrors(context, XMLErrorCollector.callback, Unmanaged.passUnretained(collector).toOpaque())
    }

    deinit {
        xmlSchemaFreeValidCtxt(context)
        xmlSchemaFree(schema)
    }

    /// Whether the compiled shortcut finds `element` certainly valid (then libxml2 is not asked).
    public func certainlyValid(_ element: XMLElement, excluding: Set<XMLName> = []) -> Bool {
        shortcut?.accepts(element, excluding: excluding.map { SpelledName(namespace: $0.namespace, local: $0.local) }) ?? false
    }

    /// Names of the global elements the shortcut covers.
    public var shortcutElements: [String] { shortcut.map { $0.elements.keys.sorted() } ?? [] }

    /// Validates one element subtree against its global declaration; returns the messages.
    func validate(element node: xmlNodePtr) -> [String] {
        collector.errors.removeAll(keepingCapacity: true)
        let rc = xmlSchemaValidateOneElement(context, node)
        var messages = collector.errors.map(\.message)
        if rc != 0 && messages.isEmpty { messages.append("the element does not match its schema declaration") }
        return messages
    }

    /// Validates a whole file against the schema (streaming); returns the messages, empty when valid.
    /// Used to check what Dropline writes (outbound files, reject files).
    public func validate(file path: String) -> [String] {
        collector.errors.removeAll(keepingCapacity: true)
        let rc = xmlSchemaValidateFile(context, path, 0)
        var messages = collector.errors.map(\.message)
        if rc != 0 && messages.isEmpty { messages.append("the file is not valid against \(self.path) (code \(rc))") }
        return messages
    }

    /// Validates a standalone document (root copy plus trailer copy).
    func validate(document doc: xmlDocPtr) -> [String] {
        collector.errors.removeAll(keepingCapacity: true)
        let rc = xmlSchemaValidateDoc(context, doc)
        var messages = collector.errors.map(\.message)
        if rc != 0 && messages.isEmpty { messages.append("the root does not match its schema declaration") }
        return messages
    }
}

/// Collects libxml2 structured errors for one reader or validator (no global handler).
final class XMLErrorCollector {
    struct Entry {
        var domain: Int32
        var code: Int32
        var level: xmlErrorLevel
        var message: String
        var line: Int
        var column: Int
    }
    var errors: [Entry] = []
    /// Stop collecting after this many: a hostile file must not grow memory through errors.
    let maxErrors = 64

    static let callback: xmlStructuredErrorFunc = { ctx, error in
        guard let ctx, let error else { return }
        let me = Unmanaged<XMLErrorCollector>.fromOpaque(ctx).takeUnretainedValue()
        guard me.errors.count < me.maxErrors else { return }
        let e = error.pointee
        var message = e.message.map { String(cString: $0) } ?? "XML error \(e.code)"
        while message.last?.isNewline == true { message.removeLast() }
        me.errors.append(Entry(domain: Int32(e.domain), code: Int32(e.code), level: e.level, message: message, line: Int(e.line), column: Int(e.int2)))
    }
}
