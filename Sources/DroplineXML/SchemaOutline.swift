import DroplineCore
import Foundation

/// What an interface XSD allows where, read for its names only: for every element reachable from
/// a global element, the child elements and attributes it may have. Lint checks a definition's
/// paths against it, because a misspelt element or attribute in a field path matches nothing and
/// reads as missing in every record: an optional field becomes a column of nulls without a word.
///
/// The reading is deliberately partial and never guesses: a declaration built with what it does
/// not follow (xs:any, xs:anyAttribute, groups, complexContent, a type from another schema) is
/// "open", and nothing under an open shape is judged.
public final class SchemaOutline {
    /// The names an element may contain.
    public final class Shape {
        public fileprivate(set) var children: [XMLName: Shape] = [:]
        /// Unqualified attribute names.
        public fileprivate(set) var attributes: Set<String> = []
        /// Whether children or attributes beyond those listed may occur.
        public fileprivate(set) var open = false
    }

    public let targetNamespace: String?
    /// Global elements by local name (all in the target namespace).
    public private(set) var globals: [String: Shape] = [:]

    typealias Node = SchemaShortcut.Node

    private var complexTypes: [String: Node] = [:]
    private var simpleTypes: Set<String> = []
    private var globalNodes: [String: Node] = [:]
    private var typeShapes: [String: Shape] = [:]
    private var qualified = false

    /// Nil when the file cannot be read or is not a schema whose top level this reading follows
    /// (imports, includes, groups at the top level): then no path is judged.
    public init?(path: String) {
        guard let root = SchemaShortcut.read(path), root.isXSD, root.local == "schema" else { return nil }
        targetNamespace = root.attributes["targetNamespace"]
        qualified = root.attributes["elementFormDefault"] == "qualified"
        guard (root.attributes["attributeFormDefault"] ?? "unqualified") == "unqualified" else { return nil }
        for n in root.kids() {
            guard n.isXSD, let name = n.attributes["name"] else { return nil }
            switch n.local {
            case "complexType": complexTypes[key(name)] = n
            case "simpleType": simpleTypes.insert(key(name))
            case "element": globalNodes[name] = n
            default: return nil
            }
        }
        for (name, node) in globalNodes { globals[name] = global(name, node) }
    }

    func key(_ local: String) -> String { "{\(targetNamespace ?? "")}\(local)" }

    private var building: [String: Shape] = [:]

    /// A global element's shape, built once (a reference to it from inside its own content
    /// finds the shape being built).
    func global(_ name: String, _ node: Node) -> Shape {
        if let s = globals[name] ?? building[name] { return s }
        let shape = Shape()
        building[name] = shape
        fill(shape, element: node)
        globals[name] = shape
        return shape
    }

    /// The shape of an element declaration: its named or inline type.
    func fill(_ shape: Shape, element node: Node) {
        if let type = node.attributes["type"] {
            if type.hasPrefix("{\(SchemaShortcut.xsd)}") || simpleTypes.contains(type) { return }  // simple content
            guard let complex = complexTypes[type] else { shape.open = true; return }
            merge(into: shape, typeShape(type, complex))
            return
        }
        let kids = node.kids().filter(\.isXSD)
        if let complex = kids.first(where: { $0.local == "complexType" }) {
            fill(shape, complexType: complex)
        } else if !kids.contains(where: { $0.local == "simpleType" }) {
            shape.open = true  // xs:anyType
        }
    }

    func typeShape(_ name: String, _ node: Node) -> Shape {
        if let s = typeShapes[name] { return s }
        let shape = Shape()
        typeShapes[name] = shape
        fill(shape, complexType: node)
        return shape
    }

    func merge(into shape: Shape, _ other: Shape) {
        shape.children.merge(other.children) { a, _ in a }
        shape.attributes.formUnion(other.attributes)
        if other.open { shape.open = true }
    }

    func fill(_ shape: Shape, complexType node: Node) {
        for n in node.kids() {
            guard n.isXSD else { shape.open = true; continue }
            switch n.local {
            case "sequence", "choice", "all": particles(n, into: shape)
            case "attribute": attribute(n, into: shape)
            case "simpleContent":
                // Text plus attributes: those of the extension or restriction, and of a
                // complex base type.
                for step in n.kids() where step.isXSD && (step.local == "extension" || step.local == "restriction") {
                    if let base = step.attributes["base"], let complex = complexTypes[base] { merge(into: shape, typeShape(base, complex)) }
                    for a in step.kids() where !a.isXSD || a.local.hasPrefix("attribute") || a.local == "anyAttribute" {
                        // Facets and an inline simple type say nothing of names.
                        if a.isXSD && a.local == "attribute" { attribute(a, into: shape) } else { shape.open = true }
                    }
                }
            default: shape.open = true  // complexContent, groups, anyAttribute, ...
            }
        }
    }

    func particles(_ node: Node, into shape: Shape) {
        for p in node.kids() {
            guard p.isXSD else { shape.open = true; continue }
            switch p.local {
            case "element":
                if let ref = p.attributes["ref"] {
                    let local = String(ref.drop { $0 != "}" }.dropFirst())
                    guard ref == key(local), let g = globalNodes[local] else { shape.open = true; continue }
                    shape.children[XMLName(namespace: targetNamespace, local: local)] = global(local, g)
                } else if let name = p.attributes["name"] {
                    let child = Shape()
                    fill(child, element: p)
                    shape.children[XMLName(namespace: qualified ? targetNamespace : nil, local: name)] = child
                } else {
                    shape.open = true
                }
            case "sequence", "choice", "all": particles(p, into: shape)
            default: shape.open = true  // xs:any, xs:group
            }
        }
    }

    func attribute(_ node: Node, into shape: Shape) {
        guard node.attributes["use"] != "prohibited" else { return }
        if let name = node.attributes["name"] { shape.attributes.insert(name) } else { shape.open = true }
    }
}

extension SchemaOutline {
    /// Where a definition's paths name an element or attribute the schema does not allow there:
    /// the record paths, every field of every record, the header fields, the trailer and its
    /// totals. Paths under an open part of the schema are not judged.
    public static func diagnostics(for d: PipelineDefinition) -> [Diagnostic] {
        guard let schemaPath = d.extract.schemaPath, let outline = SchemaOutline(path: schemaPath) else { return [] }
        let x = d.extract
        var out: [Diagnostic] = []
        func report(_ message: String, _ hint: String?, at text: String) {
            out.append(Diagnostic(file: d.sourcePath, locating: text, code: .badPath, message: message, hint: hint))
        }
        func names(_ shape: Shape) -> String {
            (shape.children.keys.map(\.local).sorted() + shape.attributes.sorted().map { "@" + $0 }).joined(separator: ", ")
        }
        let schemaName = (schemaPath as NSString).lastPathComponent
        guard x.root.namespace == outline.targetNamespace, let root = outline.globals[x.root.local] else {
            report("root \(x.root.written) is not an element \(schemaName) declares", "global elements: \(outline.globals.keys.sorted().joined(separator: ", "))", at: x.root.written)
            return out
        }
        /// Follows `steps` from the innermost of `ancestors` (outermost first); reports the first
        /// step the schema does not allow.
        func walk(_ steps: [PathStep], from ancestors: [Shape], what: String, written: String, so consequence: String = "so it would read as missing in every record") {
            var stack = ancestors
            for step in steps {
                guard let here = stack.last, !here.open else { return }
                switch step {
                case .root: stack = [root]
                case .parent:
                    guard stack.count > 1 else { return }
                    stack.removeLast()
                case .child(let q):
                    guard let next = here.children[XMLName(namespace: q.namespace, local: q.local)] else {
                        return report("\(what): '\(written)' names an element \(q.written) that \(schemaName) does not allow there, \(consequence)", "allowed there: \(names(here))", at: written)
                    }
                    stack.append(next)
                case .attribute(let q):
                    guard q.namespace == nil else { return }
                    if !here.attributes.contains(q.local) {
                        return report("\(what): '\(written)' names an attribute @\(q.written) that \(schemaName) does not allow there, \(consequence)", "allowed there: \(names(here))", at: written)
                    }
                }
            }
        }
        // Records: their element paths from the root, then their fields.
        var recordShapes: [String: [Shape]] = [:]
        for r in x.records {
            var stack = [root]
            for q in r.path.dropFirst() {
                guard let here = stack.last, !here.open else { break }
                guard let next = here.children[XMLName(namespace: q.namespace, local: q.local)] else {
                    report("record '\(r.name)': path \(r.pathText) names an element \(q.written) that \(schemaName) does not allow there", "allowed there: \(names(here))", at: r.pathText)
                    stack = []
                    break
                }
                stack.append(next)
            }
            guard stack.count == r.path.count else { continue }
            recordShapes[r.name] = stack
            for f in r.fields { walk(f.path.steps, from: stack, what: "record '\(r.name)' field '\(f.name)'", written: f.path.written) }
        }
        for f in x.header { walk(f.path.steps, from: [root], what: "header field '\(f.name)'", written: f.path.written) }
        // The trailer and its totals.
        walk([.child(x.control.element)], from: [root], what: "control", written: x.control.element.written, so: "so every file would lack its trailer")
        if let trailer = root.open ? nil : root.children[XMLName(namespace: x.control.element.namespace, local: x.control.element.local)] {
            for c in x.control.checks { walk([.attribute(c.attribute)], from: [root, trailer], what: "control total", written: "@" + c.attribute.written, so: "so every file would miss that total") }
        }
        for c in x.control.checks {
            if case .sum(let record, let path) = c.total, let stack = recordShapes[record] {
                walk(path.steps, from: stack, what: "control total sum over '\(record)'", written: path.written)
            }
        }
        return out
    }
}
