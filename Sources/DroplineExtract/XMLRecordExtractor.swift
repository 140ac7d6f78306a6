import DroplineCore
import DroplineXML
import Foundation

/// What a finished extraction knows about the file as a whole.
public struct ExtractSummary: Sendable {
    public var header: [String: Value]
    /// Elements seen per record type (valid or not).
    public var counts: [String: Int]
    /// Each `sum` control total as the content gives it, by check index.
    public var sums: [Int: Decimal] = [:]
}

/// Streams one export: checks the root, reads the header, hands every record (parents before
/// their nested records, in document order) to `handle`, and checks the trailer's control totals.
/// Any file-level fault is thrown as a `FileFailure` after the whole document was read, so that
/// the contract's order (not well-formed, then schema root, then control totals) decides.
public final class XMLRecordExtractor {
    let definition: XMLExtractDefinition
    let schema: XMLSchema?
    let limits: XMLLimits
    let topLevel: [RecordPlan]
    /// Every record type, in the definition's order (`RecordPlan.index`).
    let plans: [RecordPlan]
    /// Bytes of the file the parser had consumed after the last record unit; written by the
    /// thread running `run`, for its progress.
    public private(set) var bytesRead = 0
    /// Units read in libxml2's tree rather than copied, over every `run` (for tests).
    public private(set) var unitsReadInPlace = 0
    /// Emptied field storage of records already handled (`runConcurrently` hands it back), for
    /// the next records: a record's fields then cost no allocation and no free, and their
    /// storage is not destroyed through the runtime's generic witnesses. Touched only by the
    /// thread running `run`.
    var spareFields: [FieldMap] = []

    /// A record type compiled for the per-element loop: a class, handed around by reference;
    /// its fields are compiled `FieldPlan` values, so walking them copies no field definition.
    final class RecordPlan {
        let definition: RecordDefinition
        let name: String
        /// Its place in `plans`.
        let index: Int
        /// Where its fields start in a table of every type's fields (in `plans` order).
        var firstField = 0
        let element: QName
        /// `element`, for reading elements in place.
        let spelled: SpelledName
        let fields: ContiguousArray<FieldPlan>
        /// Record types nested directly in this one.
        var nested: [RecordPlan] = []
        /// The `sum` control checks over this record type: check index and where the value is.
        var sums: [(index: Int, access: FieldPlan.Access)] = []
        /// For each of `sums`, the index of a field that reads the same attribute as a decimal
        /// with `.` and a sign allowed (the sum's own reading): its value, when it cast, is the
        /// sum's term, so the attribute is not read and parsed a second time. Nil: none.
        var sumFields: [Int?] = []
        /// Whether its records, and those nested in them, can be read in libxml2's tree
        /// (`LiveElement`): every field and sum an attribute of the record or an ancestor, or
        /// the text of a child element.
        var readsInPlace = false

        /// Every field and sum of this type and of the types nested in it is read by name alone.
        var readableInPlace: Bool {
            !definition.allAttributes && fields.allSatisfy(\.access.isByName) && sums.allSatisfy(\.access.isByName) && nested.allSatisfy(\.readableInPlace)
        }

        init(_ d: RecordDefinition, index: Int) {
            definition = d
            name = d.name
            self.index = index
            element = d.path[d.path.count - 1]
            spelled = SpelledName(namespace: element.namespace, local: element.local)
            fields = ContiguousArray(d.fields.map(FieldPlan.init))
        }
    }

    /// A field compiled for the per-record loop. Its parts are stored apart (not as the
    /// `FieldDefinition`): copying the whole definition out of the plan for every field of every
    /// record retained and released each of its strings and path steps, an eighth of the
    /// parsing thread's time. A value, not an object: its usual parts (short names, an attribute
    /// without namespace) need no reference counting, where an object was retained and released
    /// for every field of every record (another tenth, the most contended atomic of the thread).
    struct FieldPlan {
        let name: String
        let type: FieldType
        let emptyIsNull: Bool
        let access: Access

        /// Where the raw text is: an attribute of the record or of an ancestor (the common
        /// forms `@a`, `../@a`), the text of the record's first child of a name (`A`), else the
        /// path as declared.
        enum Access {
            case attribute(up: Int, SpelledName)
            case childText(SpelledName)
            case path(FieldPath)

            init(_ path: FieldPath) {
                let ups = path.steps.prefix { $0 == .parent }.count
                if path.steps.count == ups + 1, case .attribute(let q) = path.steps[ups] {
                    self = .attribute(up: ups, SpelledName(namespace: q.namespace, local: q.local))
                } else if path.steps.count == 1, case .child(let q) = path.steps[0] {
                    self = .childText(SpelledName(namespace: q.namespace, local: q.local))
                } else {
                    self = .path(path)
                }
            }

            /// Read by a name, in place as well as in a copy.
            var isByName: Bool { if case .path = self { false } else { true } }

            /// `FieldCaster.cast` of what `raw` gives: an attribute's value from its bytes.
            /// `interned`: what the reader learnt of the attribute's or child's name
            /// (`ElementView.withAttribute`, `ElementView.childText`).
            func cast<E: ElementView>(record: E, ancestors: [E], root: XMLElement, _ f: FieldPlan, interned: inout UnsafeRawPointer?) -> Result<Value, RecordIssue> {
                guard case .attribute(let up, let name) = self else {
                    if case .childText(let name) = self {
                        return FieldCaster.cast(record.childText(name, interned: &interned), name: f.name, type: f.type, emptyIsNull: f.emptyIsNull)
                    }
                    return FieldCaster.cast(raw(record: record, ancestors: ancestors, root: root), name: f.name, type: f.type, emptyIsNull: f.emptyIsNull)
                }
                guard let element = up == 0 ? record : (up <= ancestors.count ? ancestors[ancestors.count - up] : nil) else { return .success(.null) }
                return element.withAttribute(name, interned: &interned) { FieldCaster.cast(bytes: $0, name: f.name, type: f.type, emptyIsNull: f.emptyIsNull) }
            }

            /// What `FieldReader.raw` gives for the path. A path of another form is read only in
            /// a copied element (records with such fields are never read in place).
            func raw<E: ElementView>(record: E, ancestors: [E], root: XMLElement) -> String? {
                switch self {
                case .attribute(let up, let name):
                    let element = up == 0 ? record : (up <= ancestors.count ? ancestors[ancestors.count - up] : nil)
                    return element?.attribute(name)
                case .childText(let name):
                    return record.childText(name)
                case .path(let p):
                    guard let record = record as? XMLElement, let ancestors = ancestors as? [XMLElement] else { preconditionFailure("a field path read in place") }
                    return FieldReader.raw(p, record: record, ancestors: ancestors, root: root)
                }
            }
        }

        init(_ f: FieldDefinition) {
            name = f.name
            type = f.type
            emptyIsNull = f.emptyIsNull
            access = Access(f.path)
        }

        func raw<E: ElementView>(record: E, ancestors: [E], root: XMLElement) -> String? {
            access.raw(record: record, ancestors: ancestors, root: root)
        }
    }

    /// `readInPlace: false` copies every unit out of libxml2 (to compare the two ways in tests).
    public init(definition: XMLExtractDefinition, schema: XMLSchema?, limits: XMLLimits = XMLLimits(), readInPlace: Bool = true) {
        self.definition = definition
        self.schema = schema
        self.limits = limits
        let plans = definition.records.enumerated().map { RecordPlan($1, index: $0) }
        self.plans = plans
        for i in plans.indices.dropFirst() { plans[i].firstField = plans[i - 1].firstField + plans[i - 1].fields.count }
        let byName = Dictionary(plans.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for p in plans {
            if let parent = p.definition.parent { byName[parent]?.nested.append(p) }
        }
        for (i, c) in definition.control.checks.enumerated() {
            if case .sum(let rec, let path) = c.total { byName[rec]?.sums.append((i, FieldPlan.Access(path))) }
        }
        for p in plans {
            p.sumFields = p.sums.map { sum in
                guard !p.definition.allAttributes, case .attribute(let up, let name) = sum.access else { return nil }
                return p.fields.firstIndex { f in
                    guard case .attribute(up, let n) = f.access, n.namespace == name.namespace, n.local == name.local,
                        case .decimal(UInt8(ascii: "."), _, true) = f.type
                    else { return false }
                    return true
                }
            }
        }
        topLevel = plans.filter { $0.definition.path.count == 2 }
        for p in topLevel { p.readsInPlace = readInPlace && p.readableInPlace }
    }

    /// What the trailer should say for the file's content (records counted, sums added), without
    /// comparing it: for recomputing the totals of a corrected reject file.
    public func tally(path: String) throws -> ExtractSummary {
        try run(path: path, checkControl: false, header: { _ in }, record: { _ in })
    }

    /// Streams the file: `handleHeader` gets the root's fields, then `handle` each record in
    /// document order, to own (moved to it, not copied).
    public func run(path: String, checkControl: Bool = true, header handleHeader: ([String: Value]) throws -> Void, record handle: (consuming Record) throws -> Void) throws -> ExtractSummary {
        let trailerName = XMLName(namespace: definition.control.element.namespace, local: definition.control.element.local)
        let plan = schema.map {
            XMLStreamReader.ValidationPlan(schema: $0, nestedRecords: Set(definition.records.filter { $0.path.count > 2 }.map { XMLName(namespace: $0.path.last!.namespace, local: $0.path.last!.local) }), trailer: trailerName)
        }
        let reader = try XMLStreamReader(path: path, limits: limits, plan: plan)
        let root = try reader.readRoot()
        var structural: FileFailure?
        func structure(_ f: FileFailure) { if structural == nil { structural = f } }

        let expected = definition.root
        var header: [String: Value] = [:]
        if !root.is(namespace: expected.namespace, local: expected.local) {
            structure(FileFailure(.schemaRoot, "root element is \(root.qualifiedName), this interface needs \(QNameText.describe(expected))", line: root.line))
        } else {
            for field in definition.header {
                let raw = FieldReader.raw(field.path, record: root, ancestors: [], root: root)
                switch FieldCaster.cast(raw, field) {
                case .success(let v):
                    if v.isNull { structure(FileFailure(.schemaRoot, "root attribute for '\(field.name)' (\(field.path)) is missing", line: root.line)) }
                    header[field.name] = v
                case .failure:
                    structure(FileFailure(.schemaRoot, "root attribute for '\(field.name)' (\(field.path)) is not valid", line: root.line))
                }
            }
            if structural == nil { try handleHeader(header) }
        }

        // Records seen per type, by `RecordPlan.index`.
        var seen = Array(repeating: 0, count: plans.count)
        var sums = Array(repeating: ExactSum(), count: definition.control.checks.count)
        var summed = Array(repeating: false, count: definition.control.checks.count)
        var trailer: XMLElement?
        var unitIndex = -1
        // Each element a record's fields may be read from as an ancestor gets a number of its own
        // for the file (the root 0), kept beside `ancestors`: the fields a record reads of an
        // ancestor are cast once per ancestor, not once per record (a timesheet's four, for each
        // of its entries).
        var lastElementNumber = 0
        var ancestorValues = ContiguousArray(repeating: AncestorValue(), count: plans.reduce(0) { $0 + $1.fields.count })
        // What the reader learnt of each field's attribute or child name, for this document alone.
        var names = ContiguousArray<UnsafeRawPointer?>(repeating: nil, count: ancestorValues.count)
        /// Hands on the unit's records (the unit, then those nested in it, in document order).
        func emit<E: ElementView>(_ plan: RecordPlan, _ unit: E, root rootView: E) throws {
            var ancestors = [rootView]
            var numbers = [0]
            var position = ElementPosition()
            position.append(unitIndex)
            try visit(plan, unit, ancestors: &ancestors, numbers: &numbers, position: &position)
        }
        /// Hands on the record `element` and then those nested in it; `ancestors` (with their
        /// `numbers`) and `position` are the element's, and are as they were when it returns.
        func visit<E: ElementView>(_ plan: RecordPlan, _ element: E, ancestors: inout [E], numbers: inout [Int], position: inout ElementPosition) throws {
            seen[plan.index] += 1
            let ordinal = seen[plan.index]
            var contributions = ControlSums()
            var r = structural == nil ? record(plan, element, ancestors: ancestors, root: root, ordinal: ordinal, numbers: numbers, kept: &ancestorValues, names: &names) : nil
            for k in plan.sums.indices {
                let i = plan.sums[k].index
                // Its term as the record's field cast it (fields come in plan order).
                if let fields = r?.fields, let f = plan.sumFields[k], case .decimal(let d, _) = fields.value(at: f) {
                    sums[i].add(d)
                    contributions.append(i, d)
                    summed[i] = true
                    continue
                }
                guard let raw = plan.sums[k].access.raw(record: element, ancestors: ancestors, root: root) else { continue }
                let text = raw.xmlTrimmed
                if let x = DecimalText.parseExact(text) {
                    sums[i].add(x)
                    contributions.append(i, x.decimal)
                } else if let v = DecimalText.parse(text) {
                    sums[i].add(v)
                    contributions.append(i, v)
                } else { continue }
                summed[i] = true
            }
            // Completed in place and moved out to `handle`, which owns it (bound to a local
            // first, the record was copied for the call: `if var` cannot be consumed).
            if r != nil {
                r!.position = position
                r!.controlSums = contributions
                try handle(r.take()!)
            }
            guard !plan.nested.isEmpty else { return }
            ancestors.append(element)
            lastElementNumber += 1
            numbers.append(lastElementNumber)
            defer {
                ancestors.removeLast()
                numbers.removeLast()
            }
            try element.forEachChild { index, child in
                for k in plan.nested where child.is(k.spelled) {
                    position.append(index)
                    defer { position.removeLast() }
                    try visit(k, child, ancestors: &ancestors, numbers: &numbers, position: &position)
                }
            }
        }
        func afterTrailer(_ name: String, line: Int) -> FileFailure {
            FileFailure(.schemaRoot, "\(name) after the trailer; the trailer must be the last child of the root", line: line)
        }
        // Units of a type read in place: the first top-level type it is, if that one is.
        let inPlace = topLevel.contains(where: \.readsInPlace)
        func readsInPlace(_ unit: LiveElement) -> Bool {
            topLevel.first { unit.is($0.spelled) }?.readsInPlace ?? false
        }
        while let next = try inPlace ? reader.nextUnit(liveIf: readsInPlace) : reader.nextUnit().map(XMLStreamReader.Unit.copied) {
            unitIndex += 1
            bytesRead = reader.unitEnd
            let unit: XMLElement
            switch next {
            case .live(let live):
                // `readsInPlace` found its type.
                let plan = topLevel.first { live.is($0.spelled) }!
                if trailer != nil {
                    structure(afterTrailer(QNameText.describe(plan.element), line: live.line))
                    continue
                }
                guard let rootView = live.parent else { preconditionFailure("a unit outside the root") }
                unitsReadInPlace += 1
                try emit(plan, live, root: rootView)
                continue
            case .copied(let copied):
                unit = copied
            }
            if unit.is(namespace: trailerName.namespace, local: trailerName.local) {
                if trailer != nil { structure(FileFailure(.schemaRoot, "a second trailer \(unit.qualifiedName)", line: unit.line)) }
                trailer = unit
                continue
            }
            if trailer != nil {
                structure(afterTrailer(unit.qualifiedName, line: unit.line))
                continue
            }
            guard let plan = topLevel.first(where: { unit.is(namespace: $0.element.namespace, local: $0.element.local) }) else {
                structure(FileFailure(.schemaRoot, "unexpected element \(unit.qualifiedName) under the root; expected records (\(topLevel.map { $0.element.written }.joined(separator: ", "))) then \(definition.control.element)", line: unit.line))
                continue
            }
            try emit(plan, unit, root: root)
        }
        try reader.finish()
        if reader.strayText { structure(FileFailure(.schemaRoot, "text directly inside the root element", line: root.line)) }
        guard let trailer else {
            throw structural ?? FileFailure(.schemaRoot, "no trailer \(definition.control.element) as the last child of the root", line: root.line)
        }
        if let s = structural { throw s }
        let totals = Dictionary(uniqueKeysWithValues: sums.indices.filter { summed[$0] }.map { ($0, sums[$0].total) })
        let counts = Dictionary(uniqueKeysWithValues: plans.filter { seen[$0.index] > 0 }.map { ($0.name, seen[$0.index]) })
        guard checkControl else { return ExtractSummary(header: header, counts: counts, sums: totals) }
        if let errors = reader.rootLevelErrors, let first = errors.first {
            throw FileFailure(.schemaRoot, "root attributes or trailer break the schema: \(first)", line: trailer.line)
        }
        // Control totals.
        for (i, check) in definition.control.checks.enumerated() {
            let written = trailer.attribute(namespace: check.attribute.namespace, local: check.attribute.local).map { String($0.xmlTrimmed) }
            guard let raw = written, let stated = DecimalText.parse(Substring(raw)) else {
                let why = written.map { DecimalText.isLexical(Substring($0)) } == true
                    ? "has more than \(DecimalText.maxSignificantDigits) significant digits, too many to check exactly" : "is missing or not a number"
                throw FileFailure(.schemaRoot, "trailer attribute \(check.attribute) \(why)", line: trailer.line)
            }
            let actual: Decimal
            let what: String
            switch check.total {
            case .count(let rec):
                actual = Decimal(counts[rec] ?? 0)
                what = "\(rec) records"
            case .sum(let rec, let p):
                actual = totals[i] ?? 0
                what = "sum of \(rec) \(p)"
            }
            if stated != actual {
                throw FileFailure(.controlTotalMismatch, "trailer \(check.attribute) says \(raw), the file has \(DecimalText.canonical(actual)) (\(what)). Quarantined; nothing loaded. Ask the sender to re-export.", line: trailer.line)
            }
        }
        return ExtractSummary(header: header, counts: counts, sums: totals)
    }

    /// The value a field read of an ancestor was cast to, and the number of that ancestor (`run`'s
    /// element numbers; -1: none yet). Kept for every field of every record type
    /// (`RecordPlan.firstField` on); a value that did not cast is not kept.
    struct AncestorValue {
        var of = -1
        var value = Value.null
    }

    /// `numbers`: each ancestor's number for the file, unique to it (the root's 0); a field read
    /// of an ancestor is cast once per ancestor, kept in `kept`. `names`: what the reader learnt
    /// of each field's attribute name (`ElementView.withAttribute`), by field like `kept`.
    func record<E: ElementView>(_ plan: RecordPlan, _ el: E, ancestors: [E], root: XMLElement, ordinal: Int, numbers: [Int], kept: inout ContiguousArray<AncestorValue>, names: inout ContiguousArray<UnsafeRawPointer?>) -> Record {
        let def = plan.definition
        var rec = Record(type: plan.name, fields: spareFields.popLast() ?? FieldMap(), line: el.line, ordinal: ordinal)
        let copied = el as? XMLElement
        rec.fields.reserveCapacity(plan.fields.count + (def.allAttributes ? copied?.attributes.count ?? 0 : 0))
        let schemaErrors = el.schemaErrors ?? []
        for message in schemaErrors.prefix(8) {
            rec.issues.append(RecordIssue(code: .invalidField, field: nil, expected: "valid \(plan.element.local) per the interface schema", actual: message, hint: "correct the element so it matches the interface schema"))
        }
        if def.allAttributes, let copied {
            for a in copied.attributes where a.namespace == nil { rec.fields[SnakeCase.convert(a.local)] = .string(a.value) }
        }
        // A record type's field names are distinct (keys of one mapping): unless attributes were
        // taken first, every field is new to the record.
        let fresh = !def.allAttributes
        for i in plan.fields.indices {
            let field = plan.fields[i]
            // The ancestor the field is read of, if it is: its number.
            var of = -1
            if case .attribute(let up, _) = field.access, up > 0, up <= numbers.count { of = numbers[numbers.count - up] }
            let value: Value
            if of >= 0, kept[plan.firstField + i].of == of {
                value = kept[plan.firstField + i].value
            } else {
                switch field.access.cast(record: el, ancestors: ancestors, root: root, field, interned: &names[plan.firstField + i]) {
                case .success(let v):
                    value = v
                    if of >= 0 { kept[plan.firstField + i] = AncestorValue(of: of, value: v) }
                case .failure(let issue):
                    value = .null
                    // Schema messages already cover the same fault; keep cast issues when there are none.
                    if schemaErrors.isEmpty { rec.issues.append(issue) }
                }
            }
            if fresh { rec.fields.appendNew(field.name, value) } else { rec.fields[field.name] = value }
        }
        return rec
    }
}

/// Evaluates a field path against a record element and its ancestors.
public enum FieldReader {
    public static func raw(_ path: FieldPath, record: XMLElement, ancestors: [XMLElement], root: XMLElement) -> String? {
        var current: XMLElement? = record
        var up = ancestors.count
        if path.steps.isEmpty { return record.text }
        for step in path.steps {
            guard let node = current else { return nil }
            switch step {
            case .root: current = root
            case .parent:
                up -= 1
                current = up >= 0 ? ancestors[up] : nil
            case .child(let q):
                current = node.children.first { $0.is(namespace: q.namespace, local: q.local) }
            case .attribute(let q):
                return node.attribute(namespace: q.namespace, local: q.local)
            }
        }
        return current?.text
    }
}

enum QNameText {
    static func describe(_ q: QName) -> String { q.namespace.map { "{\($0)}\(q.local)" } ?? q.local }
}

/// `validFrom` -> `valid_from`, `ERP_NUMBER` -> `erp_number`.
public enum SnakeCase {
    public static func convert(_ name: String) -> String {
        if name == name.uppercased() { return name.lowercased() }
        var out = ""
        for (i, c) in name.enumerated() {
            if c.isUppercase {
                if i > 0 { out.append("_") }
                out += c.lowercased()
            } else { out.append(c) }
        }
        return out
    }
}
