import CYaml
import Yams

/// Reads a Yams node tree into typed values, collecting diagnostics with line:column instead of
/// stopping at the first problem. Anchors and aliases are refused (they allow YAML bombs).
public final class YAMLReader {
    public let file: String
    public private(set) var diagnostics: [Diagnostic] = []
    /// Refuse trees nested deeper than this (hostile definitions).
    let maxDepth = 64

    public init(file: String) { self.file = file }

    /// Parses text into a root node; syntax errors, anchors and excessive nesting are diagnostics.
    public func compose(_ text: String, maxBytes: Int = 1 << 20) -> Node? {
        guard text.utf8.count <= maxBytes else {
            error(nil, .tooLarge, "definition is \(text.utf8.count) bytes; at most \(maxBytes) are read", hint: "split it into several pipelines")
            return nil
        }
        if let (line, column) = Self.firstAnchorOrAlias(text) {
            diagnostics.append(Diagnostic(file: file, line: line, column: column, code: .anchorsForbidden, message: "anchors and aliases are not allowed in definitions", hint: "write the value out; aliases can expand without bound"))
            return nil
        }
        do {
            guard let node = try Yams.compose(yaml: text) else {
                error(nil, .yamlSyntax, "the file is empty")
                return nil
            }
            guard checkShape(node, depth: 0) else { return nil }
            return node
        } catch let e as YamlError {
            var line = 1, column = 1
            var message = "\(e)"
            switch e {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                line = mark.line
                column = mark.column
                message = problem
            case .duplicatedKeysInMapping(let keys, let context):
                // Yams's own text repeats the whole file; the mark is the key's first place.
                line = context.mark.line
                column = context.mark.column
                message = "key \(keys.map { "'\($0)'" }.joined(separator: ", ")) appears more than once in this mapping (first here)"
            default: break
            }
            diagnostics.append(Diagnostic(file: file, line: line, column: column, code: .yamlSyntax, message: "YAML syntax: \(message)"))
            return nil
        } catch {
            diagnostics.append(Diagnostic(file: file, line: 1, column: 1, code: .yamlSyntax, message: "YAML: \(error)"))
            return nil
        }
    }

    /// Position (line, column) of the first anchor or alias, if any: read from libyaml's own
    /// tokens (the C library inside Yams, so exactly what Yams will see), which only scans and
    /// never composes, so nothing expands. A scan error stops the search; composing then fails
    /// at the same place. Yams keeps no anchor on the nodes it composes, and it hashes mapping
    /// keys as it composes (an alias as a key would be expanded right there): so this check
    /// has to come first.
    static func firstAnchorOrAlias(_ text: String) -> (Int, Int)? {
        var parser = yaml_parser_t()
        // Out of memory for the scanner: refuse rather than compose unchecked.
        guard yaml_parser_initialize(&parser) == 1 else { return (1, 1) }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { b -> (Int, Int)? in
            yaml_parser_set_input_string(&parser, b.baseAddress, b.count)
            var token = yaml_token_t()
            while yaml_parser_scan(&parser, &token) == 1 {
                defer { yaml_token_delete(&token) }
                switch token.type {
                case YAML_ANCHOR_TOKEN, YAML_ALIAS_TOKEN: return (Int(token.start_mark.line) + 1, Int(token.start_mark.column) + 1)
                case YAML_STREAM_END_TOKEN: return nil
                default: continue
                }
            }
            return nil
        }
    }

    private func checkShape(_ node: Node, depth: Int) -> Bool {
        if depth > maxDepth {
            self.error(node, .tooLarge, "nesting deeper than \(maxDepth) levels")
            return false
        }
        // No anchor or alias gets here: `firstAnchorOrAlias` refused them before composing (and
        // Yams keeps no anchor on a composed node, and resolves aliases to their nodes).
        switch node {
        case .alias:
            self.error(node, .anchorsForbidden, "aliases are not allowed in definitions", hint: "write the value out; aliases can expand without bound")
            return false
        case .scalar: return true
        case .mapping(let m):
            for (k, v) in m where !checkShape(k, depth: depth + 1) || !checkShape(v, depth: depth + 1) { return false }
            return true
        case .sequence(let s):
            for v in s where !checkShape(v, depth: depth + 1) { return false }
            return true
        }
    }

    public func error(_ node: Node?, _ code: Diagnostic.Code, _ message: String, hint: String? = nil) {
        let mark = node?.mark
        diagnostics.append(Diagnostic(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, code: code, message: message, hint: hint))
    }

    public func add(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

    // MARK: typed access

    public func mapping(_ node: Node, _ what: String) -> MappingReader? {
        guard case .mapping(let m) = node else {
            error(node, .wrongType, "'\(what)' must be a mapping (key: value)")
            return nil
        }
        return MappingReader(reader: self, mapping: m, node: node, what: what)
    }

    /// The top-level mapping of a file: nested keys are named without a prefix.
    public func document(_ node: Node) -> MappingReader? {
        guard case .mapping(let m) = node else {
            error(node, .wrongType, "the file must be a mapping (key: value)")
            return nil
        }
        return MappingReader(reader: self, mapping: m, node: node, what: "")
    }

    public func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let s) = node else {
            error(node, .wrongType, "'\(what)' must be a single value, not a \(kind(node))")
            return nil
        }
        return s.string
    }

    public func int(_ node: Node, _ what: String) -> Int? {
        guard case .scalar(let s) = node, let v = Int(s.string) else {
            error(node, .wrongType, "'\(what)' must be a whole number")
            return nil
        }
        return v
    }

    public func bool(_ node: Node, _ what: String) -> Bool? {
        guard case .scalar(let s) = node, let v = ["true": true, "false": false][s.string] else {
            error(node, .wrongType, "'\(what)' must be true or false")
            return nil
        }
        return v
    }

    public func sequence(_ node: Node, _ what: String) -> [Node]? {
        guard case .sequence(let s) = node else {
            error(node, .wrongType, "'\(what)' must be a list")
            return nil
        }
        return Array(s)
    }

    /// A list of strings; a single scalar is accepted as a one-element list.
    public func strings(_ node: Node, _ what: String) -> [String]? {
        if case .scalar(let s) = node { return [s.string] }
        guard let items = sequence(node, what) else { return nil }
        var out: [String] = []
        for item in items {
            guard let s = string(item, what) else { return nil }
            out.append(s)
        }
        return out
    }

    func kind(_ node: Node) -> String {
        switch node {
        case .scalar: "value"
        case .mapping: "mapping"
        case .sequence: "list"
        case .alias: "alias"
        }
    }
}

/// One mapping being read: tracks which keys were consumed so `finish` can report unknown ones
/// with a did-you-mean.
public final class MappingReader {
    let reader: YAMLReader
    public let node: Node
    let what: String
    public private(set) var entries: [(key: String, keyNode: Node, value: Node)] = []
    var allowed: [String] = []

    init(reader: YAMLReader, mapping: Node.Mapping, node: Node, what: String) {
        self.reader = reader
        self.node = node
        self.what = what
        var seen = Set<String>()
        for (k, v) in mapping {
            guard case .scalar(let s) = k else {
                reader.error(k, .wrongType, "keys in '\(what)' must be plain names")
                continue
            }
            if !seen.insert(s.string).inserted {
                reader.error(k, .duplicate, "key '\(s.string)' appears twice in '\(what)'")
                continue
            }
            entries.append((s.string, k, v))
        }
    }

    public var keys: [String] { entries.map(\.key) }

    /// Declares keys this mapping may have, so that an early return still reports only the
    /// truly unknown ones.
    public func allow(_ keys: [String]) { allowed += keys }

    public func value(_ key: String) -> Node? {
        allowed.append(key)
        return entries.first { $0.key == key }?.value
    }

    public func keyNode(_ key: String) -> Node? { entries.first { $0.key == key }?.keyNode }

    /// A required key; a missing one is reported at the mapping.
    public func require(_ key: String) -> Node? {
        guard let v = value(key) else {
            reader.error(node, .missingKey, (what.isEmpty ? "the definition" : "'\(what)'") + " needs the key '\(key)'")
            return nil
        }
        return v
    }

    public func string(_ key: String, required: Bool = false) -> String? {
        guard let v = required ? require(key) : value(key) else { return nil }
        return reader.string(v, name(key))
    }

    public func int(_ key: String, default def: Int) -> Int {
        guard let v = value(key) else { return def }
        return reader.int(v, name(key)) ?? def
    }

    public func bool(_ key: String, default def: Bool) -> Bool {
        guard let v = value(key) else { return def }
        return reader.bool(v, name(key)) ?? def
    }

    public func strings(_ key: String, required: Bool = false) -> [String]? {
        guard let v = required ? require(key) : value(key) else { return nil }
        return reader.strings(v, name(key))
    }

    public func mapping(_ key: String, required: Bool = false) -> MappingReader? {
        guard let v = required ? require(key) : value(key) else { return nil }
        return reader.mapping(v, name(key))
    }

    /// `inbox.pattern`, or `inbox` at the top level.
    func name(_ key: String) -> String { what.isEmpty ? key : "\(what).\(key)" }

    /// Reports keys that no accessor asked for, suggesting the closest known key.
    public func finish(alsoAllowed: [String] = []) {
        let known = allowed + alsoAllowed
        for entry in entries where !known.contains(entry.key) {
            let suggestion = Suggestion.closest(to: entry.key, in: known)
            let message = "unknown key '\(entry.key)'" + (what.isEmpty ? "" : " in '\(what)'") + (suggestion.map { "; did you mean '\($0)'?" } ?? "")
            reader.error(entry.keyNode, .unknownKey, message, hint: "known keys: \(Set(known).sorted().joined(separator: ", "))")
        }
    }

    /// Enum value from a fixed set.
    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type, default def: T) -> T where T.RawValue == String {
        guard let v = value(key), let s = reader.string(v, "\(name(key))") else { return def }
        guard let c = T(rawValue: s) else {
            let all = T.allCases.map(\.rawValue)
            let suggestion = Suggestion.closest(to: s, in: all)
            reader.error(v, .invalidValue, "'\(s)' is not a valid \(name(key))" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""), hint: "one of: \(all.joined(separator: ", "))")
            return def
        }
        return c
    }
}
