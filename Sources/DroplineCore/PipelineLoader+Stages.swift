import Foundation
import Yams

extension DefinitionBuilder {
    // MARK: transform

    func transform(_ node: Node, records: [String], fields: inout [String: [String]]) -> TransformDefinition? {
        guard let (kind, _, body) = stage(node, "transform", kinds: ["map", "derive", "constant", "mask", "drop"]),
            let m = r.mapping(body, kind)
        else { return nil }
        m.allow(["record"] + (["map": ["field", "reference", "key", "outputs", "unmapped"], "derive": ["field", "template"], "constant": ["field", "value"], "mask": ["fields", "with"], "drop": ["fields"]][kind] ?? []))
        defer { m.finish() }
        guard let rec = recordScope(m, records) else { return nil }
        switch kind {
        case "map":
            let field = m.string("field", required: true) ?? ""
            guard checkFields([field], record: rec, fields: fields, at: m.value("field")) else { return nil }
            guard let refRel = m.string("reference", required: true),
                let refPath = file(refRel, at: m.value("reference"), kind: "reference"),
                let table = referenceTable(refPath, at: m.value("reference"))
            else { return nil }
            let keyColumn = m.string("key", required: true) ?? ""
            if !table.columns.contains(keyColumn) {
                r.error(m.value("key"), .unknownField, "reference \(refRel) has no column '\(keyColumn)'", hint: "columns: \(table.columns.joined(separator: ", "))")
            }
            var outputs: [(String, String)] = []
            if let o = m.mapping("outputs", required: true) {
                for e in o.entries {
                    _ = o.value(e.key)
                    guard let col = r.string(e.value, "outputs.\(e.key)") else { continue }
                    if !table.columns.contains(col) {
                        r.error(e.value, .unknownField, "reference \(refRel) has no column '\(col)'", hint: "columns: \(table.columns.joined(separator: ", "))")
                    }
                    outputs.append((e.key, col))
                    fields[rec, default: []].append(e.key)
                }
                o.finish()
            }
            var unmapped: ReasonCode? = .unmappedValue
            if let u = m.string("unmapped") {
                if u == "null" { unmapped = nil } else if let code = ReasonCode(rawValue: u) { unmapped = code } else {
                    r.error(m.value("unmapped"), .invalidValue, "unmapped must be a reason code or 'null'")
                }
            }
            return .map(MapTransform(record: rec, field: field, referencePath: refPath, keyColumn: keyColumn, outputs: outputs, unmappedReason: unmapped, table: table))
        case "derive":
            let field = m.string("field", required: true) ?? ""
            guard let text = m.string("template", required: true) else { return nil }
            guard let t = Template.parse(text) else {
                r.error(m.value("template"), .invalidValue, "template '\(text)' has an unbalanced brace")
                return nil
            }
            guard checkFields(t.fields, record: rec, fields: fields, at: m.value("template")) else { return nil }
            fields[rec, default: []].append(field)
            return .derive(record: rec, field: field, template: t)
        case "constant":
            let field = m.string("field", required: true) ?? ""
            let value = m.string("value", required: true) ?? ""
            fields[rec, default: []].append(field)
            return .constant(record: rec, field: field, value: value)
        case "mask":
            let names = m.strings("fields", required: true) ?? []
            if let with = m.string("with"), with != "sha256" {
                r.error(m.value("with"), .invalidValue, "mask supports only 'sha256'")
            }
            guard checkFields(names, record: rec, fields: fields, at: m.value("fields")) else { return nil }
            return .mask(record: rec, fields: names)
        default:  // drop
            let names = m.strings("fields", required: true) ?? []
            guard checkFields(names, record: rec, fields: fields, at: m.value("fields")) else { return nil }
            fields[rec] = (fields[rec] ?? []).filter { !names.contains($0) }
            return .drop(record: rec, fields: names)
        }
    }

    /// A governed reference file: YAML with `format_version`, `version`, `columns`, `rows`;
    /// `check` finds what is wrong with a row (by column), reported at the row.
    func referenceTable(_ path: String, at node: Node?, check: ([String: String]) -> [(message: String, hint: String)] = { _ in [] }) -> ReferenceTable? {
        let sub = YAMLReader(file: path)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let root = sub.compose(text),
            let m = sub.mapping(root, "reference")
        else {
            r.error(node, .missingFile, "reference file \(path) is not readable YAML")
            for d in sub.diagnostics { r.add(d) }
            return nil
        }
        _ = m.int("format_version", default: 1)
        let version = m.int("version", default: 0)
        if version < 1 { sub.error(m.node, .missingKey, "a governed reference file needs 'version: N' (N >= 1)") }
        let columns = m.strings("columns", required: true) ?? []
        var rows: [String: [String: String]] = [:]
        if let list = m.value("rows").flatMap({ sub.sequence($0, "rows") }) {
            for item in list {
                guard let cells = sub.strings(item, "rows"), cells.count == columns.count else {
                    sub.error(item, .invalidValue, "each row needs \(columns.count) values (\(columns.joined(separator: ", ")))")
                    continue
                }
                if rows[cells[0]] != nil { sub.error(item, .duplicate, "key '\(cells[0])' appears twice") }
                let row = Dictionary(uniqueKeysWithValues: zip(columns, cells))
                for problem in check(row) { sub.error(item, .invalidValue, problem.message, hint: problem.hint) }
                rows[cells[0]] = row
            }
        } else { _ = m.require("rows") }
        m.finish()
        for d in sub.diagnostics { r.add(d) }
        guard sub.diagnostics.isEmpty else { return nil }
        // Rows are keyed by the first column; the map stage's `key` names it.
        return ReferenceTable(version: version, columns: columns, rows: rows)
    }

    /// A row of the governed category mapping: a bucket outside the contract's would drop the
    /// category's hours from utilization, a blank labor class would reach the ERP's labor file.
    static func categoryRow(_ row: [String: String]) -> [(message: String, hint: String)] {
        var problems: [(message: String, hint: String)] = []
        let category = row["psa_category"] ?? ""
        if let bucket = row["utilization_bucket"], !TimePostingLoad.buckets.contains(bucket) {
            problems.append(("'\(category)' maps to the utilization bucket '\(bucket)'", "one of: \(TimePostingLoad.buckets.joined(separator: ", "))"))
        }
        if let labor = row["erp_labor_class"], labor.isEmpty || labor != labor.trimmingCharacters(in: .whitespacesAndNewlines) {
            problems.append(("'\(category)' has the ERP labor class '\(labor)'", "the ERP's labor class, without surrounding spaces (e.g. LBR-BILL)"))
        }
        return problems
    }

    // MARK: validate

    func validation(_ node: Node, records: [String], fields: [String: [String]]) -> ValidationDefinition? {
        let kinds = ["required", "pattern", "one_of", "range", "max_decimals", "unique", "compare", "weekday", "reference"]
        guard let (kind, _, body) = stage(node, "validate", kinds: kinds) else { return nil }
        // `required: [a, b]` short form.
        if kind == "required", case .sequence = body {
            guard let names = r.strings(body, "required"), records.count == 1 else {
                if records.count > 1 { r.error(body, .missingKey, "use 'required: {record: R, fields: [...]}' when the pipeline has several record types") }
                return nil
            }
            guard checkFields(names, record: records[0], fields: fields, at: body) else { return nil }
            return ValidationDefinition(record: records[0], rule: .required(fields: names, when: []), reason: .invalidField)
        }
        guard let m = r.mapping(body, kind) else { return nil }
        let ruleKeys: [String: [String]] = ["required": ["fields", "when"], "pattern": ["field", "regex"], "one_of": ["field", "values"], "range": ["field", "min", "max"], "max_decimals": ["field", "scale"], "unique": ["fields"], "compare": ["left", "op", "right"], "weekday": ["field", "is"], "reference": ["match", "table", "effective"]]
        m.allow(["record", "reason"] + (ruleKeys[kind] ?? []))
        defer { m.finish() }
        guard let rec = recordScope(m, records) else { return nil }
        let code = reason(m, default: kind == "unique" ? .duplicateRecord : (kind == "reference" ? .unknownReference : .invalidField))
        func one(_ key: String = "field") -> String? {
            guard let f = m.string(key, required: true), checkFields([f], record: rec, fields: fields, at: m.value(key)) else { return nil }
            return f
        }
        let rule: ValidationDefinition.Rule?
        switch kind {
        case "required":
            let names = m.strings("fields", required: true) ?? []
            var when: [(String, String)] = []
            if let w = m.mapping("when") {
                for e in w.entries {
                    _ = w.value(e.key)
                    if let v = r.string(e.value, "when.\(e.key)") { when.append((e.key, v)) }
                }
                w.finish()
            }
            guard checkFields(names + when.map(\.0), record: rec, fields: fields, at: m.node) else { return nil }
            rule = .required(fields: names, when: when)
        case "pattern":
            guard let f = one(), let re = m.string("regex", required: true) else { return nil }
            if (try? NSRegularExpression(pattern: re)) == nil {
                r.error(m.value("regex"), .invalidValue, "'\(re)' is not a valid regular expression")
                return nil
            }
            rule = .pattern(field: f, regex: re)
        case "one_of":
            guard let f = one(), let values = m.strings("values", required: true) else { return nil }
            rule = .oneOf(field: f, values: values)
        case "range":
            guard let f = one() else { return nil }
            let lo = m.string("min"), hi = m.string("max")
            if lo == nil && hi == nil { r.error(m.node, .missingKey, "range needs 'min', 'max' or both") }
            rule = .range(field: f, min: lo, max: hi)
        case "max_decimals":
            guard let f = one() else { return nil }
            rule = .maxDecimals(field: f, scale: m.int("scale", default: 2))
        case "unique":
            let names = m.strings("fields", required: true) ?? []
            guard checkFields(names, record: rec, fields: fields, at: m.value("fields")) else { return nil }
            rule = .unique(fields: names)
        case "compare":
            guard let a = one("left"), let b = one("right") else { return nil }
            let op = m.choice("op", CompareOp.self, default: .le)
            rule = .compare(left: a, op: op, right: b)
        case "weekday":
            guard let f = one() else { return nil }
            let days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
            let d = m.string("is", required: true) ?? "monday"
            guard let idx = days.firstIndex(of: d.lowercased()) else {
                r.error(m.value("is"), .invalidValue, "'\(d)' is not a weekday name")
                return nil
            }
            rule = .weekday(field: f, isoWeekday: idx + 1)
        default:  // reference
            let table = m.string("table", required: true) ?? ""
            var match: [(String, String)] = []
            if let mm = m.mapping("match", required: true) {
                for e in mm.entries {
                    _ = mm.value(e.key)
                    if let col = r.string(e.value, "match.\(e.key)") { match.append((e.key, col)) }
                }
                mm.finish()
            }
            guard checkFields(match.map(\.0), record: rec, fields: fields, at: m.value("match")) else { return nil }
            var effective: (String, String, String)?
            if let e = m.mapping("effective") {
                let date = e.string("date", required: true) ?? ""
                let from = e.string("from", required: true) ?? ""
                let to = e.string("to", required: true) ?? ""
                e.finish()
                if checkFields([date], record: rec, fields: fields, at: e.value("date")) { effective = (date, from, to) }
            }
            rule = .reference(ReferenceRule(table: table, match: match, effective: effective))
        }
        guard let rule else { return nil }
        return ValidationDefinition(record: rec, rule: rule, reason: code)
    }

    // MARK: load

    func load(_ node: Node, records: [String], fields: [String: [String]]) -> LoadDefinition? {
        guard let (kind, _, body) = stage(node, "load", kinds: ["table", "effective_dated", "update", "csv_file", "xml_file", "time_posting"]),
            let m = r.mapping(body, kind)
        else { return nil }
        let loadKeys: [String: [String]] = ["table": ["record", "name", "key", "mode", "columns", "keep_when_null"], "effective_dated": ["record", "table", "key", "from", "to", "columns", "action"], "update": ["record", "table", "match", "set", "when", "missing_reason", "conflict_reason"], "csv_file": ["target", "name", "table", "where", "order_by", "columns", "checksum", "when_empty", "send_once"], "xml_file": ["target", "name", "table", "where", "order_by", "namespace", "root", "record", "control", "checksum", "when_empty", "send_once"], "time_posting": ["record", "header", "hold_days", "categories", "target", "closed_period"]]
        m.allow(loadKeys[kind] ?? [])
        defer { m.finish() }
        func tableName(_ key: String = "table") -> String? {
            guard let t = m.string(key, required: true) else { return nil }
            guard t.range(of: "^[a-z][a-z0-9_]{0,63}$", options: .regularExpression) != nil, !t.hasPrefix("_") else {
                r.error(m.value(key), .invalidValue, "table name '\(t)' must be lower-case letters, digits and '_'")
                return nil
            }
            return t
        }
        func pairs(_ key: String) -> [(String, String)] {
            var out: [(String, String)] = []
            if let mm = m.mapping(key, required: key != "when") {
                for e in mm.entries {
                    _ = mm.value(e.key)
                    if let v = r.string(e.value, "\(key).\(e.key)") { out.append((e.key, v)) }
                }
                mm.finish()
            }
            return out
        }
        switch kind {
        case "table":
            guard let rec = recordScope(m, records), let table = tableName("name") else { return nil }
            let key = m.strings("key", required: true) ?? []
            let columns = m.strings("columns")
            let keep = m.strings("keep_when_null") ?? []
            guard checkFields(key + (columns ?? []) + keep, record: rec, fields: fields, at: m.node) else { return nil }
            if openRecords.contains(rec) && columns == nil {
                r.error(m.node, .missingKey, "record '\(rec)' takes all attributes; its table load needs 'columns:'", hint: "list the attribute fields (snake_case) to store")
            }
            return .table(TableLoad(record: rec, table: table, key: key, mode: m.choice("mode", TableLoad.Mode.self, default: .upsert), columns: columns, keepWhenNull: keep))
        case "effective_dated":
            guard let rec = recordScope(m, records), let table = tableName() else { return nil }
            let key = m.strings("key", required: true) ?? []
            let from = m.string("from", required: true) ?? ""
            let to = m.string("to", required: true) ?? ""
            let columns = m.strings("columns")
            var actionField: String?, terminate = "TERMINATE"
            if let a = m.mapping("action") {
                actionField = a.string("field", required: true)
                terminate = a.string("terminate") ?? terminate
                a.finish()
            }
            guard checkFields(key + [from, to] + (columns ?? []) + (actionField.map { [$0] } ?? []), record: rec, fields: fields, at: m.node) else { return nil }
            return .effectiveDated(EffectiveDatedLoad(record: rec, table: table, key: key, fromField: from, toField: to, columns: columns, actionField: actionField, terminateValue: terminate, overlapReason: .overlappingValidity, terminationReason: .invalidTermination))
        case "update":
            guard let rec = recordScope(m, records), let table = tableName() else { return nil }
            let match = pairs("match"), set = pairs("set"), when = pairs("when")
            guard checkFields(match.map(\.1) + set.map(\.1) + when.map(\.0), record: rec, fields: fields, at: m.node) else { return nil }
            let missing = reasonKey(m, "missing_reason", .unknownReference)
            let conflict = reasonKey(m, "conflict_reason", .invalidField)
            return .update(UpdateLoad(record: rec, table: table, match: match.map { ($0.0, $0.1) }, set: set.map { ($0.0, $0.1) }, when: when, missingReason: missing, conflictReason: conflict))
        case "time_posting":
            let rec = m.string("record", required: true) ?? ""
            let header = m.string("header", required: true) ?? ""
            for (name, needed, key) in [(rec, TimePostingLoad.entryFields, "record"), (header, TimePostingLoad.headerFields, "header")] {
                guard records.contains(name) else {
                    r.error(m.value(key), .unknownField, "no record type '\(name)'")
                    continue
                }
                _ = checkFields(needed, record: name, fields: fields, at: m.value(key))
            }
            let holdDays = m.value("hold_days").flatMap { r.int($0, "hold_days") }
            if let holdDays, holdDays < 0 { r.error(m.value("hold_days"), .invalidValue, "hold_days must be 0 or more") }
            if let policy = m.string("closed_period"), policy != "reject" {
                r.error(m.value("closed_period"), .invalidValue, "closed_period supports only 'reject' (the contract rejects entries in closed periods)")
            }
            let target = m.string("target") ?? "erp"
            guard let refRel = m.string("categories", required: true),
                let refPath = file(refRel, at: m.value("categories"), kind: "reference"),
                let table = referenceTable(refPath, at: m.value("categories"), check: Self.categoryRow)
            else { return nil }
            for col in ["psa_category", "erp_labor_class", "utilization_bucket"] where !table.columns.contains(col) {
                r.error(m.value("categories"), .unknownField, "category mapping \(refRel) needs the column '\(col)'")
            }
            return .timePosting(TimePostingLoad(record: rec, header: header, holdDays: holdDays, categories: table, categoriesPath: refPath, target: target))
        default:  // csv_file, xml_file
            guard let table = tableName() else { return nil }
            let target = m.string("target", required: true) ?? ""
            if target.range(of: "^[a-z][a-z0-9_-]{0,31}$", options: .regularExpression) == nil {
                r.error(m.value("target"), .invalidValue, "target '\(target)' must be a plain folder name (outbound/<target>)")
            }
            guard let nameText = m.string("name", required: true), let name = Template.parse(nameText) else {
                r.error(m.value("name"), .invalidValue, "name must be a file-name template")
                return nil
            }
            if nameText.contains("/") || nameText.contains("..") {
                r.error(m.value("name"), .invalidValue, "file name '\(nameText)' must not contain '/' or '..'")
            }
            for f in name.fields where !SnapshotFields.names.contains(f) {
                r.error(m.value("name"), .unknownField, "file name template may use \(SnapshotFields.names.joined(separator: ", ")), not '\(f)'")
            }
            let order = m.strings("order_by") ?? []
            var filter: [(String, String?)] = []
            if let w = m.mapping("where") {
                for e in w.entries {
                    _ = w.value(e.key)
                    if case .scalar(let sc) = e.value, sc.string == "null" || sc.string == "~" || sc.string.isEmpty { filter.append((e.key, nil)) }
                    else if let v = r.string(e.value, "where.\(e.key)") { filter.append((e.key, v)) }
                }
                w.finish()
            }
            let checksum = m.bool("checksum", default: kind == "xml_file")
            let whenEmpty = m.bool("when_empty", default: kind == "csv_file")
            let format: SnapshotFileLoad.Format
            if kind == "csv_file" {
                var columns: [SnapshotFileLoad.CSVColumn] = []
                if let list = m.value("columns").flatMap({ r.sequence($0, "columns") }) {
                    for item in list {
                        if case .scalar(let sc) = item {
                            columns.append(.init(header: sc.string, source: Template(parts: [.field(sc.string, format: nil)], written: "{\(sc.string)}")))
                        } else if let c = r.mapping(item, "columns") {
                            let header = c.string("name", required: true) ?? ""
                            let src = c.string("value", required: true).flatMap(Template.parse)
                            c.finish()
                            if let src { columns.append(.init(header: header, source: src)) }
                        }
                    }
                } else { _ = m.require("columns") }
                format = .csv(columns: columns)
            } else {
                func element(_ key: String) -> (String, [(String, Template)])? {
                    guard let e = m.mapping(key, required: true) else { return nil }
                    let name = e.string("element", required: true) ?? ""
                    var attrs: [(String, Template)] = []
                    if let a = e.mapping("attributes") {
                        for entry in a.entries {
                            _ = a.value(entry.key)
                            guard let text = r.string(entry.value, "attributes.\(entry.key)") else { continue }
                            guard let t = Template.parse(text) else {
                                r.error(entry.value, .invalidValue, "'\(text)' has an unbalanced brace")
                                continue
                            }
                            attrs.append((entry.key, t))
                        }
                        a.finish()
                    }
                    e.finish()
                    return (name, attrs)
                }
                let namespace = m.string("namespace")
                guard let root = element("root"), let record = element("record"), let control = element("control") else { return nil }
                format = .xml(.init(namespace: namespace, root: root.0, rootAttributes: root.1, record: record.0, recordAttributes: record.1, control: control.0, controlAttributes: control.1))
            }
            var snapshot = SnapshotFileLoad(target: target, name: name, table: table, filter: filter, orderBy: order, format: format, checksum: checksum, whenEmpty: whenEmpty)
            if let once = m.mapping("send_once") {
                let key = once.strings("key", required: true) ?? []
                let content = once.strings("content", required: true) ?? []
                once.finish()
                snapshot.sendOnce = (key, content)
            }
            return .snapshotFile(snapshot)
        }
    }

    func reasonKey(_ m: MappingReader, _ key: String, _ def: ReasonCode) -> ReasonCode {
        guard let text = m.string(key) else { return def }
        guard let code = ReasonCode(rawValue: text) else {
            r.error(m.value(key), .invalidValue, "unknown reason code '\(text)'")
            return def
        }
        return code
    }
}
