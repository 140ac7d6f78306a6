import Crypto
import Foundation
import Yams

/// Turns `pipelines/*.yaml` into `PipelineDefinition`s, or a `DefinitionError` listing every
/// problem with file:line:column. Reference files are read here (they are small and governed).
public struct PipelineLoader {
    public static let supportedFormatVersion = 1

    public init() {}

    /// Loads one definition file. Throws `DefinitionError` with all diagnostics.
    public func load(file path: String) throws -> PipelineDefinition {
        let reader = YAMLReader(file: path)
        let url = URL(fileURLWithPath: path)
        guard let data = try? Data(contentsOf: url) else {
            throw DefinitionError([Diagnostic(file: path, line: 1, column: 1, code: .missingFile, message: "cannot read the definition file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DefinitionError([Diagnostic(file: path, line: 1, column: 1, code: .yamlSyntax, message: "the definition is not UTF-8")])
        }
        let digest = SHA256Text.hex(data)
        guard let root = reader.compose(text) else { throw DefinitionError(reader.diagnostics) }
        let builder = DefinitionBuilder(reader: reader, baseDirectory: url.deletingLastPathComponent().path)
        let definition = builder.pipeline(root, path: path, sha256: digest)
        if !reader.diagnostics.isEmpty || definition == nil { throw DefinitionError(reader.diagnostics) }
        return definition!
    }

    /// Loads every `*.yaml` in a folder and checks them together: unique names, known
    /// dependencies, no cycles, no two patterns matching one file name, outbound files reading
    /// tables and columns that exist. Returns them in dependency order (ties by name).
    /// `builtInTables`: tables the warehouse has of its own (the time stage's), which an
    /// outbound file may read although no pipeline loads them.
    public func loadAll(directory: String, builtInTables: Set<String> = []) throws -> [PipelineDefinition] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .sorted()
        guard !names.isEmpty else {
            throw DefinitionError([Diagnostic(file: directory, line: 1, column: 1, code: .missingFile, message: "no pipeline definitions (*.yaml) in this folder")])
        }
        var definitions: [PipelineDefinition] = []
        var diagnostics: [Diagnostic] = []
        for name in names {
            do { definitions.append(try load(file: directory + "/" + name)) } catch let e as DefinitionError { diagnostics += e.diagnostics }
        }
        var cross = Self.crossCheck(definitions, builtInTables: builtInTables)
        // A pipeline named in depends_on may be one whose file has errors: reported there, not
        // also as unknown here (it is checked again once its file loads).
        if !diagnostics.isEmpty { cross.removeAll { $0.code == .unknownPipeline } }
        diagnostics += cross
        if !diagnostics.isEmpty { throw DefinitionError(diagnostics) }
        return try Self.dependencyOrder(definitions)
    }

    static func crossCheck(_ definitions: [PipelineDefinition], builtInTables: Set<String> = []) -> [Diagnostic] {
        var out: [Diagnostic] = []
        var byName: [String: PipelineDefinition] = [:]
        for d in definitions {
            if let other = byName[d.name] {
                out.append(Diagnostic(file: d.sourcePath, line: 1, column: 1, code: .duplicate, message: "pipeline name '\(d.name)' is also used by \(other.sourcePath)"))
            }
            byName[d.name] = d
        }
        for d in definitions {
            for dep in d.dependsOn where byName[dep] == nil {
                let s = Suggestion.closest(to: dep, in: Array(byName.keys))
                out.append(Diagnostic(file: d.sourcePath, line: 1, column: 1, code: .unknownPipeline, message: "depends_on names unknown pipeline '\(dep)'" + (s.map { "; did you mean '\($0)'?" } ?? "")))
            }
        }
        for (i, a) in definitions.enumerated() {
            for b in definitions[(i + 1)...] where Glob.overlap(a.inbox.pattern, b.inbox.pattern) {
                out.append(Diagnostic(file: b.sourcePath, line: 1, column: 1, code: .patternOverlap,
                    message: "inbox pattern '\(b.inbox.pattern)' can match the same file names as '\(a.inbox.pattern)' of pipeline '\(a.name)'",
                    hint: "make the patterns disjoint so every file belongs to exactly one pipeline"))
            }
        }
        out += snapshotColumnCheck(definitions, builtInTables: builtInTables)
        return out
    }

    /// An outbound file reads its table's columns by name, and a name the table does not have
    /// reads as empty: a misspelt CSV column shipped an empty column of the PSA feed. Every name
    /// a snapshot reads (columns, attribute templates, where, order_by, send_once) must be
    /// written to its table by some pipeline's loads, or be a run-level value. Its table must be
    /// loaded by a pipeline or be one of the warehouse's own (whose columns are not checked
    /// here): a misspelt table read as missing, and wrote an empty file every night.
    static func snapshotColumnCheck(_ definitions: [PipelineDefinition], builtInTables: Set<String>) -> [Diagnostic] {
        var written: [String: Set<String>] = [:]
        func write(_ table: String, _ columns: [String]) { written[table, default: ["_export_id", "_run_id"]].formUnion(columns) }
        for d in definitions {
            for load in d.loads {
                switch load {
                case .table(let t): write(t.table, (t.columns ?? d.fieldShape(of: t.record).map(\.name)) + t.key)
                case .effectiveDated(let e): write(e.table, (e.columns ?? d.fieldShape(of: e.record).map(\.name)) + e.key + [e.fromField, e.toField])
                case .update(let u): write(u.table, u.set.map(\.column) + u.match.map(\.column))
                default: break
                }
            }
        }
        let tables = Set(written.keys).union(builtInTables).sorted()
        var out: [Diagnostic] = []
        for d in definitions {
            for case .snapshotFile(let s) in d.loads {
                guard let columns = written[s.table] else {
                    if !builtInTables.contains(s.table) {
                        let s2 = Suggestion.closest(to: s.table, in: tables)
                        out.append(Diagnostic(file: d.sourcePath, locating: "table: " + s.table, code: .unknownField,
                            message: "outbound file \(s.name.written) reads table '\(s.table)', which no pipeline loads" + (s2.map { "; did you mean '\($0)'?" } ?? ""),
                            hint: "tables: \(tables.joined(separator: ", "))"))
                    }
                    continue
                }
                var read = s.filter.map(\.column) + s.orderBy + (s.sendOnce.map { $0.key + $0.content } ?? [])
                switch s.format {
                case .csv(let list): read += list.flatMap(\.source.fields)
                case .xml(let layout): read += (layout.rootAttributes + layout.recordAttributes + layout.controlAttributes).flatMap(\.value.fields).filter { $0 != "count" }
                }
                var seen: Set<String> = []
                for name in read where !columns.contains(name) && !SnapshotFields.names.contains(name) && seen.insert(name).inserted {
                    let s2 = Suggestion.closest(to: name, in: columns.sorted())
                    out.append(Diagnostic(file: d.sourcePath, locating: name, code: .unknownField,
                        message: "outbound file \(s.name.written) reads column '\(name)' of table '\(s.table)', which no load writes" + (s2.map { "; did you mean '\($0)'?" } ?? ""),
                        hint: "columns of \(s.table): \(columns.filter { !$0.hasPrefix("_") }.sorted().joined(separator: ", "))"))
                }
            }
        }
        return out
    }

    /// Topological order by `depends_on`; a cycle is a diagnostic.
    public static func dependencyOrder(_ definitions: [PipelineDefinition]) throws -> [PipelineDefinition] {
        let byName = Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var order: [PipelineDefinition] = []
        var diagnostics: [Diagnostic] = []
        func visit(_ name: String, _ trail: [String]) {
            guard let d = byName[name] else { return }
            if state[name] == 2 { return }
            if state[name] == 1 {
                let cycle = (trail.drop { $0 != name } + [name]).joined(separator: " -> ")
                diagnostics.append(Diagnostic(file: d.sourcePath, line: 1, column: 1, code: .dependencyCycle, message: "depends_on forms a cycle: \(cycle)", hint: "remove one of the dependencies"))
                return
            }
            state[name] = 1
            for dep in d.dependsOn.sorted() { visit(dep, trail + [name]) }
            state[name] = 2
            order.append(d)
        }
        for name in byName.keys.sorted() { visit(name, []) }
        if !diagnostics.isEmpty { throw DefinitionError(diagnostics) }
        return order
    }
}

/// The per-file decoding work; every method records diagnostics and returns nil on failure.
final class DefinitionBuilder {
    let r: YAMLReader
    let base: String

    init(reader: YAMLReader, baseDirectory: String) {
        self.r = reader
        self.base = baseDirectory
    }

    var dependencies: [String] = []
    /// Record types with `all_attributes: true`: their field names are known only at run time.
    var openRecords = Set<String>()

    func pipeline(_ node: Node, path: String, sha256: String) -> PipelineDefinition? {
        guard let top = r.document(node) else { return nil }
        let formatVersion = top.int("format_version", default: 1)
        if formatVersion > PipelineLoader.supportedFormatVersion {
            r.error(top.value("format_version"), .unsupportedVersion, "format_version \(formatVersion) is newer than this Dropline reads (\(PipelineLoader.supportedFormatVersion))", hint: "upgrade Dropline")
        }
        let name = top.string("pipeline", required: true) ?? ""
        if !name.isEmpty, name.range(of: "^[a-z][a-z0-9_]{0,63}$", options: .regularExpression) == nil {
            r.error(top.value("pipeline"), .invalidValue, "pipeline name '\(name)' must be lower-case letters, digits and '_'")
        }
        let description = top.string("description") ?? ""
        let version = top.int("version", default: 1)
        let dependsOn = top.strings("depends_on") ?? []
        let inbox = top.mapping("inbox", required: true).flatMap(inboxDefinition)
        let extract = top.mapping("extract", required: true).flatMap(extractDefinition)
        var fieldsByRecord: [String: [String]] = [:]
        for rec in extract?.records ?? [] { fieldsByRecord[rec.name] = rec.fields.map(\.name) }
        openRecords = Set((extract?.records ?? []).filter(\.allAttributes).map(\.name))
        let recordNames = extract?.records.map(\.name) ?? []
        var transforms: [TransformDefinition] = []
        if let list = top.value("transform").flatMap({ r.sequence($0, "transform") }) {
            for item in list { if let t = transform(item, records: recordNames, fields: &fieldsByRecord) { transforms.append(t) } }
        }
        var validations: [ValidationDefinition] = []
        if let list = top.value("validate").flatMap({ r.sequence($0, "validate") }) {
            for item in list { if let v = validation(item, records: recordNames, fields: fieldsByRecord) { validations.append(v) } }
        }
        var loads: [LoadDefinition] = []
        if let list = top.value("load").flatMap({ r.sequence($0, "load") }) {
            for item in list { if let l = load(item, records: recordNames, fields: fieldsByRecord) { loads.append(l) } }
        }
        top.finish()
        guard let inbox, let extract else { return nil }
        return PipelineDefinition(
            formatVersion: formatVersion, name: name, description: description, version: version,
            dependsOn: dependsOn, inbox: inbox, extract: extract, transforms: transforms,
            validations: validations, loads: loads, sourcePath: path, sourceSHA256: sha256,
            dependencies: dependencies)
    }

    // MARK: inbox

    func inboxDefinition(_ m: MappingReader) -> InboxDefinition? {
        let pattern = m.string("pattern", required: true) ?? ""
        // A missing pattern is reported as missing, not also as an empty one.
        if m.value("pattern") != nil, pattern.contains("/") || pattern.contains("..") || pattern.hasPrefix(".") || pattern.isEmpty {
            r.error(m.value("pattern"), .invalidValue, "inbox pattern '\(pattern)' must be a plain file-name glob (no '/', no '..', not hidden)", hint: "files are only ever taken from the zone's inbox folder")
        }
        let settle = m.int("settle_seconds", default: 60)
        if settle < 0 { r.error(m.value("settle_seconds"), .invalidValue, "settle_seconds must be 0 or more") }
        let marker = m.choice("done_marker", InboxDefinition.DoneMarker.self, default: .optional)
        let maxBytes = m.int("max_file_bytes", default: 4 << 30)
        m.finish()
        return InboxDefinition(pattern: pattern, settleSeconds: settle, doneMarker: marker, maxFileBytes: Int64(maxBytes))
    }

    // MARK: extract

    var namespaces: [String: String] = [:]

    func extractDefinition(_ m: MappingReader) -> XMLExtractDefinition? {
        guard let x = m.mapping("xml", required: true) else { m.finish(); return nil }
        m.finish()
        if let ns = x.mapping("namespaces") {
            for e in ns.entries {
                if let uri = r.string(e.value, "namespaces.\(e.key)") { namespaces[e.key] = uri }
                _ = ns.value(e.key)
            }
            ns.finish()
        }
        var schemaPath: String?
        if let s = x.string("schema") {
            schemaPath = file(s, at: x.value("schema"), kind: "schema")
        }
        let rootText = x.string("root", required: true) ?? "/"
        let rootPath = elementPath(rootText, at: x.value("root"))
        let maxRecordBytes = x.int("max_record_bytes", default: 1 << 20)
        var header: [FieldDefinition] = []
        if let h = x.mapping("header", required: true) {
            for e in h.entries {
                _ = h.value(e.key)
                if let f = field(e.key, e.value, relativeTo: "header") { header.append(f) }
            }
            for needed in ["export_id", "business_date"] where !header.contains(where: { $0.name == needed }) {
                r.error(h.node, .missingKey, "header needs the field '\(needed)'", hint: "the ledger keys files by export id and orders them by business date")
            }
            if let bd = header.first(where: { $0.name == "business_date" }), case .date = bd.type {} else if header.contains(where: { $0.name == "business_date" }) {
                r.error(h.value("business_date"), .invalidValue, "header field 'business_date' must have type date")
            }
            h.finish()
        }
        var records: [RecordDefinition] = []
        if let recs = x.mapping("records", required: true) {
            for e in recs.entries {
                _ = recs.value(e.key)
                if let rec = record(e.key, e.value, rootPath: rootPath) { records.append(rec) }
            }
            if recs.entries.isEmpty { r.error(recs.node, .missingKey, "records needs at least one record type") }
            recs.finish()
        }
        for rec in records where rec.isHeader && !records.contains(where: { $0.path.count > rec.path.count && Array($0.path.prefix(rec.path.count)) == rec.path }) {
            r.error(x.value("records"), .invalidValue, "record '\(rec.name)' is a header but no record type is nested in it")
        }
        // Parents: the record whose path is the longest proper prefix.
        for i in records.indices {
            let p = records[i].path
            let parent = records.filter { $0.path.count < p.count && Array(p.prefix($0.path.count)) == $0.path }
                .max { $0.path.count < $1.path.count }
            records[i].parent = parent?.name
            if p.count > 2 && parent == nil {
                r.error(x.value("records"), .badPath, "record '\(records[i].name)' at \(records[i].pathText) is nested, but no record type covers its parent element", hint: "declare the parent element as a record type too")
            }
        }
        let control = x.mapping("control", required: true).flatMap { controlDefinition($0, records: records) }
        x.finish()
        guard let rootPath, rootPath.count == 1, let control else {
            if let rootPath, rootPath.count != 1 { r.error(x.value("root"), .badPath, "root must be a single element, e.g. /WORKER_EXPORT") }
            return nil
        }
        return XMLExtractDefinition(namespaces: namespaces, root: rootPath[0], header: header, control: control, records: records, schemaPath: schemaPath, maxRecordBytes: maxRecordBytes)
    }

    func record(_ name: String, _ node: Node, rootPath: [QName]?) -> RecordDefinition? {
        guard let m = r.mapping(node, "records.\(name)") else { return nil }
        let pathText = m.string("path", required: true) ?? ""
        let path = elementPath(pathText, at: m.value("path"))
        if let path, let rootPath, path.count < 2 || path[0] != rootPath[0] {
            r.error(m.value("path"), .badPath, "record path '\(pathText)' must start at the root \(rootPath[0]) and name at least one child", hint: "e.g. /\(rootPath[0])/RECORD")
        }
        let allAttributes = m.bool("all_attributes", default: false)
        let isHeader = m.bool("header", default: false)
        var fields: [FieldDefinition] = []
        if let fm = m.mapping("fields") {
            for e in fm.entries {
                _ = fm.value(e.key)
                if let f = field(e.key, e.value, relativeTo: "records.\(name).fields") { fields.append(f) }
            }
            fm.finish()
        } else if !allAttributes {
            r.error(m.node, .missingKey, "records.\(name) needs 'fields' (or all_attributes: true)")
        }
        let key = m.strings("key") ?? []
        for k in key where !fields.contains(where: { $0.name == k }) && !allAttributes {
            unknownField(k, in: name, fields: fields.map(\.name), at: m.value("key"))
        }
        m.finish()
        guard let path else { return nil }
        return RecordDefinition(name: name, path: path, pathText: pathText, fields: fields, allAttributes: allAttributes, key: key, parent: nil, isHeader: isHeader)
    }

    func field(_ name: String, _ node: Node, relativeTo what: String) -> FieldDefinition? {
        // Short form: `name: PATH`.
        if case .scalar(let s) = node {
            let p = fieldPath(s.string, at: node) ?? FieldPath(steps: [], written: s.string)
            return FieldDefinition(name: name, path: p, type: .string, emptyIsNull: true)
        }
        guard let m = r.mapping(node, "\(what).\(name)") else { return nil }
        let pathText = m.string("path", required: true) ?? ""
        // A bad path is reported; the field still counts as declared, so rules naming it do not cascade.
        let path = fieldPath(pathText, at: m.value("path")) ?? FieldPath(steps: [], written: pathText)
        let typeName = m.string("type") ?? "string"
        var type = FieldType.string
        switch typeName {
        case "string": type = .string
        case "integer": type = .integer
        case "decimal":
            let sep = m.string("decimal_separator") ?? "."
            if sep != "." && sep != "," { r.error(m.value("decimal_separator"), .invalidValue, "decimal_separator must be '.' or ','") }
            let scale = m.value("scale").flatMap { r.int($0, "scale") }
            type = .decimal(separator: sep.utf8.first ?? UInt8(ascii: "."), scale: scale, signed: m.bool("signed", default: true))
        case "date":
            let format = m.string("format") ?? "yyyy-MM-dd"
            if format != "yyyy-MM-dd" && format != "yyyyMMdd" {
                r.error(m.value("format"), .invalidValue, "date format '\(format)' is not supported", hint: "use yyyy-MM-dd or yyyyMMdd")
            }
            type = .date(compact: format == "yyyyMMdd", openEnd: m.string("open_end"))
        case "timestamp": type = .timestamp
        case "boolean":
            let t = m.string("true") ?? "Y", f = m.string("false") ?? "N"
            type = .boolean(trueToken: t, falseToken: f)
        default:
            let s = Suggestion.closest(to: typeName, in: Self.typeNames)
            r.error(m.value("type"), .invalidValue, "unknown type '\(typeName)'" + (s.map { "; did you mean '\($0)'?" } ?? ""), hint: "one of: \(Self.typeNames.joined(separator: ", "))")
        }
        let emptyIsNull = m.bool("empty_is_null", default: true)
        // Under a misspelt type, its keys are not the mistake: only the type is reported.
        let knownType = Self.typeNames.contains(typeName)
        m.finish(alsoAllowed: ["decimal_separator", "scale", "signed", "format", "open_end", "true", "false"].filter { m.keys.contains($0) && (typeAllows(typeName, $0) || !knownType) })
        return FieldDefinition(name: name, path: path, type: type, emptyIsNull: emptyIsNull)
    }

    /// The field types a definition may name.
    static let typeNames = ["string", "integer", "decimal", "date", "timestamp", "boolean"]

    func typeAllows(_ type: String, _ key: String) -> Bool {
        switch key {
        case "decimal_separator", "scale", "signed": type == "decimal"
        case "format", "open_end": type == "date"
        case "true", "false": type == "boolean"
        default: false
        }
    }

    func controlDefinition(_ m: MappingReader, records: [RecordDefinition]) -> ControlDefinition? {
        let elementText = m.string("element", required: true) ?? ""
        let element = qname(elementText, at: m.value("element"), attribute: false)
        var checks: [ControlDefinition.Check] = []
        if let list = m.value("totals").flatMap({ r.sequence($0, "control.totals") }) {
            for item in list {
                guard let t = r.mapping(item, "control.totals") else { continue }
                let attrText = t.string("attribute", required: true) ?? ""
                let attr = qname(attrText, at: t.value("attribute"), attribute: true)
                var total: ControlDefinition.Total?
                if let rec = t.string("count") {
                    if records.contains(where: { $0.name == rec }) { total = .count(record: rec) }
                    else { unknownRecord(rec, records, at: t.value("count")) }
                } else if let sum = t.mapping("sum") {
                    let rec = sum.string("record", required: true) ?? ""
                    let p = sum.string("path", required: true).flatMap { fieldPath($0, at: sum.value("path")) }
                    if !records.contains(where: { $0.name == rec }) { unknownRecord(rec, records, at: sum.value("record")) }
                    sum.finish()
                    if let p { total = .sum(record: rec, path: p) }
                } else {
                    r.error(t.node, .missingKey, "a control total needs 'count: RECORD' or 'sum: {record, path}'")
                }
                t.finish()
                if let attr, let total { checks.append(.init(attribute: attr, total: total)) }
            }
        } else {
            _ = m.require("totals")
        }
        m.finish()
        guard let element else { return nil }
        return ControlDefinition(element: element, checks: checks)
    }

    // MARK: names and paths

    /// `p:Name` or `Name`; unprefixed element names in a pipeline with exactly one namespace
    /// are not guessed: the prefix must be written. Attributes without prefix have no namespace.
    func qname(_ text: String, at node: Node?, attribute: Bool) -> QName? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let valid = "^[A-Za-z_][A-Za-z0-9_.-]*$"
        if parts.count == 2 {
            let prefix = String(parts[0]), local = String(parts[1])
            guard let uri = namespaces[prefix] else {
                let s = Suggestion.closest(to: prefix, in: Array(namespaces.keys))
                r.error(node, .badPath, "namespace prefix '\(prefix)' in '\(text)' is not declared" + (s.map { "; did you mean '\($0)'?" } ?? ""), hint: "declare it under extract.xml.namespaces")
                return nil
            }
            guard local.range(of: valid, options: .regularExpression) != nil else {
                r.error(node, .badPath, "'\(text)' is not a valid XML name")
                return nil
            }
            return QName(namespace: uri, local: local, written: text)
        }
        guard parts.count == 1, text.range(of: valid, options: .regularExpression) != nil else {
            r.error(node, .badPath, "'\(text)' is not a valid XML name")
            return nil
        }
        return QName(namespace: nil, local: text, written: text)
    }

    /// Absolute element path `/a/b/c`.
    func elementPath(_ text: String, at node: Node?) -> [QName]? {
        guard text.hasPrefix("/"), text.count > 1 else {
            r.error(node, .badPath, "element path '\(text)' must be absolute, e.g. /ROOT/RECORD")
            return nil
        }
        var out: [QName] = []
        for step in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard !step.isEmpty, !step.hasPrefix("@"), step != ".." else {
                r.error(node, .badPath, "element path '\(text)' may only name elements", hint: "write it as /ROOT/RECORD")
                return nil
            }
            guard let q = qname(String(step), at: node, attribute: false) else { return nil }
            out.append(q)
        }
        return out
    }

    /// Relative field path: `CHILD`, `CHILD/GRANDCHILD`, `@attr`, `CHILD/@attr`, `../@attr`,
    /// `/@rootAttr`, `.` (the record's own text).
    func fieldPath(_ text: String, at node: Node?) -> FieldPath? {
        var steps: [PathStep] = []
        var rest = Substring(text)
        if rest == "." { return FieldPath(steps: [], written: text) }
        if rest.hasPrefix("/") {
            steps.append(.root)
            rest = rest.dropFirst()
        }
        let pieces = rest.split(separator: "/", omittingEmptySubsequences: false)
        for (i, piece) in pieces.enumerated() {
            if piece == ".." {
                guard steps.allSatisfy({ $0 == .parent }) else {
                    r.error(node, .badPath, "'..' may only start a field path ('\(text)')")
                    return nil
                }
                steps.append(.parent)
            } else if piece.hasPrefix("@") {
                guard i == pieces.count - 1, let q = qname(String(piece.dropFirst()), at: node, attribute: true) else {
                    if i != pieces.count - 1 { r.error(node, .badPath, "an attribute must be the last step of '\(text)'") }
                    return nil
                }
                steps.append(.attribute(q))
            } else {
                guard !piece.isEmpty, let q = qname(String(piece), at: node, attribute: false) else {
                    if piece.isEmpty { r.error(node, .badPath, "empty step in field path '\(text)'") }
                    return nil
                }
                if steps.first == .root {
                    r.error(node, .badPath, "a root path may only read root attributes ('/@name'), not '\(text)'", hint: "records are streamed; only the root's attributes are known everywhere")
                    return nil
                }
                steps.append(.child(q))
            }
        }
        if steps.isEmpty { r.error(node, .badPath, "empty field path"); return nil }
        return FieldPath(steps: steps, written: text)
    }

    func file(_ relative: String, at node: Node?, kind: String) -> String? {
        let full = relative.hasPrefix("/") ? relative : base + "/" + relative
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else {
            r.error(node, .missingFile, "\(kind) file '\(relative)' does not exist", hint: "paths are relative to the folder of the definition (\(base))")
            return nil
        }
        dependencies.append(full)
        return full
    }

    func unknownField(_ name: String, in record: String, fields: [String], at node: Node?) {
        let s = Suggestion.closest(to: name, in: fields)
        r.error(node, .unknownField, "record '\(record)' has no field '\(name)'" + (s.map { "; did you mean '\($0)'?" } ?? ""), hint: "fields: \(fields.sorted().joined(separator: ", "))")
    }

    func unknownRecord(_ name: String, _ records: [RecordDefinition], at node: Node?) {
        let s = Suggestion.closest(to: name, in: records.map(\.name))
        r.error(node, .unknownField, "no record type '\(name)'" + (s.map { "; did you mean '\($0)'?" } ?? ""), hint: "record types: \(records.map(\.name).joined(separator: ", "))")
    }

    /// `record:` of a stage: required when the pipeline has several record types.
    func recordScope(_ m: MappingReader, _ records: [String]) -> String? {
        if let rec = m.string("record") {
            guard records.contains(rec) else {
                let s = Suggestion.closest(to: rec, in: records)
                r.error(m.value("record"), .unknownField, "no record type '\(rec)'" + (s.map { "; did you mean '\($0)'?" } ?? ""))
                return nil
            }
            return rec
        }
        if records.count == 1 { return records[0] }
        // No record types: the extract section has errors, reported there.
        if records.count > 1 { r.error(m.node, .missingKey, "this stage needs 'record:' because the pipeline has several record types (\(records.joined(separator: ", ")))") }
        return nil
    }

    func checkFields(_ names: [String], record: String, fields: [String: [String]], at node: Node?) -> Bool {
        if openRecords.contains(record) { return true }
        let known = fields[record] ?? []
        var ok = true
        for n in names where !known.contains(n) {
            unknownField(n, in: record, fields: known, at: node)
            ok = false
        }
        return ok
    }

    /// One-key mapping `kind: {...}` -> (kind, key node, body).
    func stage(_ node: Node, _ section: String, kinds: [String]) -> (String, Node, Node)? {
        guard case .mapping(let m) = node, m.count == 1, let (k, v) = m.first, case .scalar(let s) = k else {
            r.error(node, .wrongType, "each \(section) entry is a one-key mapping, e.g. '- \(kinds[0]): {...}'")
            return nil
        }
        guard kinds.contains(s.string) else {
            let sug = Suggestion.closest(to: s.string, in: kinds)
            r.error(k, .unknownStage, "unknown \(section) stage '\(s.string)'" + (sug.map { "; did you mean '\($0)'?" } ?? ""), hint: "\(section) stages: \(kinds.joined(separator: ", "))")
            return nil
        }
        return (s.string, k, v)
    }

    func reason(_ m: MappingReader, default def: ReasonCode) -> ReasonCode {
        guard let text = m.string("reason") else { return def }
        guard let code = ReasonCode(rawValue: text) else {
            let s = Suggestion.closest(to: text, in: ReasonCode.allCases.map(\.rawValue))
            r.error(m.value("reason"), .invalidValue, "unknown reason code '\(text)'" + (s.map { "; did you mean '\($0)'?" } ?? ""), hint: "reason codes are listed in docs/error-codes.md")
            return def
        }
        return code
    }
}
