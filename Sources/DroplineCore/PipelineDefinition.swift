import Foundation

/// A pipeline, decoded once from `pipelines/<name>.yaml`. No `[String: Any]` leaves the loader.
public struct PipelineDefinition: Sendable {
    public var formatVersion: Int
    public var name: String
    public var description: String
    /// Bumped by the owner when behaviour changes; recorded in manifests.
    public var version: Int
    public var dependsOn: [String]
    public var inbox: InboxDefinition
    public var extract: XMLExtractDefinition
    public var transforms: [TransformDefinition]
    public var validations: [ValidationDefinition]
    public var loads: [LoadDefinition]
    /// Where the definition was read from, and the SHA-256 of its bytes.
    public var sourcePath: String
    public var sourceSHA256: String
    /// Reference and schema files the pipeline uses (absolute paths), for manifests.
    public var dependencies: [String]

    public func record(named name: String) -> RecordDefinition? {
        extract.records.first { $0.name == name }
    }

    /// The pipeline's time posting load (the time stage), if it declares one.
    public var timePosting: TimePostingLoad? {
        loads.lazy.compactMap { if case .timePosting(let t) = $0 { t } else { nil } }.first
    }
}

public struct InboxDefinition: Sendable {
    public enum DoneMarker: String, Sendable, CaseIterable { case optional, required }
    /// Glob on the file name (`*` and `?`), e.g. `HR_WORKERS_*.xml`.
    public var pattern: String
    /// Seconds a file without marker must stay unchanged before it is taken.
    public var settleSeconds: Int
    public var doneMarker: DoneMarker
    /// Files above this many bytes are quarantined `size_limit`.
    public var maxFileBytes: Int64
}

/// A namespace-qualified XML name; `namespace` nil means no namespace.
public struct QName: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String?
    public var local: String
    public var written: String

    public init(namespace: String?, local: String, written: String? = nil) {
        self.namespace = namespace
        self.local = local
        self.written = written ?? local
    }

    public var description: String { written }
}

/// One step of a field path relative to a record element.
public enum PathStep: Sendable, Hashable {
    /// `..`: the parent element.
    case parent
    /// `/` at the start: the document root.
    case root
    /// A child element.
    case child(QName)
    /// An attribute (always last).
    case attribute(QName)
}

public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public var steps: [PathStep]
    public var written: String
    public var description: String { written }
    public init(steps: [PathStep], written: String) {
        self.steps = steps
        self.written = written
    }
}

public enum FieldType: Sendable, Hashable {
    case string
    case integer
    /// Decimal with the given separator; `scale` fixes the stored/written fraction digits.
    case decimal(separator: UInt8, scale: Int?, signed: Bool)
    /// `yyyy-MM-dd` or `yyyyMMdd`; `openEnd` is the lexical sentinel for "no end" (stored as 9999-12-31).
    case date(compact: Bool, openEnd: String?)
    /// ISO 8601 with a mandatory offset.
    case timestamp
    /// Two tokens, e.g. `Y`/`N` or `true`/`false`.
    case boolean(trueToken: String, falseToken: String)

    /// SQLite column affinity.
    public var sqlType: String {
        switch self {
        case .integer: "INTEGER"
        default: "TEXT"
        }
    }
}

public struct FieldDefinition: Sendable {
    public var name: String
    public var path: FieldPath
    public var type: FieldType
    /// An empty element or attribute counts as absent (SAP-style `<EMAIL/>`).
    public var emptyIsNull: Bool

    public init(name: String, path: FieldPath, type: FieldType, emptyIsNull: Bool) {
        self.name = name
        self.path = path
        self.type = type
        self.emptyIsNull = emptyIsNull
    }
}

public struct ControlDefinition: Sendable {
    public enum Total: Sendable {
        /// Number of elements of a record type, whatever their validity.
        case count(record: String)
        /// Exact decimal sum of a field's raw text over all elements of a record type; values
        /// that are not decimal text add 0.
        case sum(record: String, path: FieldPath)
    }
    public struct Check: Sendable {
        public var attribute: QName
        public var total: Total
    }
    public var element: QName
    public var checks: [Check]
}

public struct RecordDefinition: Sendable {
    public var name: String
    /// Absolute element path from the root, e.g. `/t:TimesheetExport/t:Timesheet/t:Entry`.
    public var path: [QName]
    public var pathText: String
    public var fields: [FieldDefinition]
    /// Every attribute becomes a string field named in snake_case (entity-style exports).
    public var allAttributes: Bool
    /// Fields that identify the record in reject files and uniqueness checks.
    public var key: [String]
    /// For nested records: the record type whose element contains this one.
    public var parent: String?
    /// A header only gives context to the records nested in it: it is not counted or rejected
    /// itself; its faults reject every record inside it (a timesheet header).
    public var isHeader: Bool = false
}

public struct XMLExtractDefinition: Sendable {
    public var namespaces: [String: String]
    public var root: QName
    public var header: [FieldDefinition]
    public var control: ControlDefinition
    public var records: [RecordDefinition]
    /// Interface XSD (absolute path) for record-level and root-level validation.
    public var schemaPath: String?
    public var maxRecordBytes: Int
}

/// A transform applies to one record type (`record`), in order.
public enum TransformDefinition: Sendable {
    case map(MapTransform)
    case derive(record: String, field: String, template: Template)
    case constant(record: String, field: String, value: String)
    case mask(record: String, fields: [String])
    case drop(record: String, fields: [String])
}

public struct MapTransform: Sendable {
    public var record: String
    public var field: String
    /// Absolute path of the governed reference file.
    public var referencePath: String
    public var keyColumn: String
    /// Output field name -> reference column.
    public var outputs: [(field: String, column: String)]
    /// Reason when the value has no row; nil leaves the outputs null.
    public var unmappedReason: ReasonCode?
    /// The loaded table: key -> column -> value.
    public var table: ReferenceTable

    public init(record: String, field: String, referencePath: String, keyColumn: String, outputs: [(field: String, column: String)], unmappedReason: ReasonCode?, table: ReferenceTable) {
        self.record = record
        self.field = field
        self.referencePath = referencePath
        self.keyColumn = keyColumn
        self.outputs = outputs
        self.unmappedReason = unmappedReason
        self.table = table
    }
}

/// A governed reference table: `format_version`, `version`, `columns`, `rows`.
public struct ReferenceTable: Sendable {
    public var version: Int
    public var columns: [String]
    public var rows: [String: [String: String]]

    public init(version: Int, columns: [String], rows: [String: [String: String]]) {
        self.version = version
        self.columns = columns
        self.rows = rows
    }
}

/// `"{first_name} {last_name}"`: literal text and field references.
public struct Template: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case literal(String)
        case field(String, format: String?)
    }
    public var parts: [Part]
    public var written: String

    public var fields: [String] {
        parts.compactMap { if case .field(let f, _) = $0 { f } else { nil } }
    }
}

public struct ValidationDefinition: Sendable {
    public enum Rule: Sendable {
        /// Fields must be present; optionally only when other fields equal given values.
        case required(fields: [String], when: [(field: String, value: String)])
        case pattern(field: String, regex: String)
        case oneOf(field: String, values: [String])
        case range(field: String, min: String?, max: String?)
        case maxDecimals(field: String, scale: Int)
        case unique(fields: [String])
        /// `left op right`, skipped when either is null.
        case compare(left: String, op: CompareOp, right: String)
        case weekday(field: String, isoWeekday: Int)
        /// Fields must match a row of another table; optionally effective on a date field.
        case reference(ReferenceRule)
    }
    public var record: String
    public var rule: Rule
    public var reason: ReasonCode

    public init(record: String, rule: Rule, reason: ReasonCode) {
        self.record = record
        self.rule = rule
        self.reason = reason
    }
}

public enum CompareOp: String, Sendable, CaseIterable {
    case lt = "<", le = "<=", eq = "==", ne = "!=", ge = ">=", gt = ">"

    public func holds<T: Comparable>(_ a: T, _ b: T) -> Bool {
        switch self {
        case .lt: a < b
        case .le: a <= b
        case .eq: a == b
        case .ne: a != b
        case .ge: a >= b
        case .gt: a > b
        }
    }
}

public struct ReferenceRule: Sendable {
    public var table: String
    /// Record field -> column of the referenced table.
    public var match: [(field: String, column: String)]
    /// Effective dating: the record's date field must lie within [from, to] of a matching row.
    public var effective: (dateField: String, fromColumn: String, toColumn: String)?

    public init(table: String, match: [(field: String, column: String)], effective: (dateField: String, fromColumn: String, toColumn: String)?) {
        self.table = table
        self.match = match
        self.effective = effective
    }
}

public enum LoadDefinition: Sendable {
    case table(TableLoad)
    case effectiveDated(EffectiveDatedLoad)
    case update(UpdateLoad)
    case snapshotFile(SnapshotFileLoad)
    case timePosting(TimePostingLoad)

    public var record: String? {
        switch self {
        case .table(let t): t.record
        case .effectiveDated(let e): e.record
        case .update(let u): u.record
        case .snapshotFile: nil
        case .timePosting(let t): t.record
        }
    }
}

public struct TableLoad: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case upsert, insert }
    public var record: String
    public var table: String
    public var key: [String]
    public var mode: Mode
    /// Columns loaded (default: every field of the record after transforms).
    public var columns: [String]?
    /// On upsert, a null value in these columns keeps the value already stored.
    public var keepWhenNull: [String]

    public init(record: String, table: String, key: [String], mode: Mode, columns: [String]?, keepWhenNull: [String]) {
        self.record = record
        self.table = table
        self.key = key
        self.mode = mode
        self.columns = columns
        self.keepWhenNull = keepWhenNull
    }
}

/// Validity ranges per key that never overlap: upsert by (key, from); a terminate action closes
/// the open range.
public struct EffectiveDatedLoad: Sendable {
    public var record: String
    public var table: String
    public var key: [String]
    public var fromField: String
    public var toField: String
    public var columns: [String]?
    /// Field holding the action, and the value that means "close the open range".
    public var actionField: String?
    public var terminateValue: String
    public var overlapReason: ReasonCode
    public var terminationReason: ReasonCode
}

/// Sets columns on an existing row of another table; a different non-null value already there
/// is a conflict.
public struct UpdateLoad: Sendable {
    public var record: String
    public var table: String
    public var match: [(column: String, field: String)]
    public var set: [(column: String, field: String)]
    public var when: [(field: String, value: String)]
    public var missingReason: ReasonCode
    public var conflictReason: ReasonCode
}

/// A snapshot of a warehouse table written as an outbound file after the run's loads of this
/// pipeline: CSV or XML, tmp + rename, optional `.sha256`, then `.done`.
public struct SnapshotFileLoad: Sendable {
    public enum Format: Sendable {
        case csv(columns: [CSVColumn])
        case xml(XMLLayout)
    }
    public struct CSVColumn: Sendable {
        public var header: String
        public var source: Template
    }
    /// Root element with attributes, one element per row with attributes, a trailer.
    public struct XMLLayout: Sendable {
        public var namespace: String?
        public var root: String
        public var rootAttributes: [(name: String, value: Template)]
        public var record: String
        public var recordAttributes: [(name: String, value: Template)]
        public var control: String
        /// Trailer attributes; `{count}` is the number of records.
        public var controlAttributes: [(name: String, value: Template)]

        public init(namespace: String?, root: String, rootAttributes: [(name: String, value: Template)], record: String, recordAttributes: [(name: String, value: Template)], control: String, controlAttributes: [(name: String, value: Template)]) {
            self.namespace = namespace
            self.root = root
            self.rootAttributes = rootAttributes
            self.record = record
            self.recordAttributes = recordAttributes
            self.control = control
            self.controlAttributes = controlAttributes
        }
    }
    public var target: String
    /// File name template: `{business_date:yyyyMMdd}`, `{run_date:yyyyMMdd}`, `{company}`, `{seq:03}`.
    public var name: Template
    public var table: String
    /// Row filter: column equals value; `null` matches NULL.
    public var filter: [(column: String, value: String?)]
    public var orderBy: [String]
    public var format: Format
    /// Also write `<name>.sha256` (sha256sum format).
    public var checksum: Bool
    /// Write even when the table has no matching rows.
    public var whenEmpty: Bool
    /// Send each row once: rows whose key and content were already sent are left out; a row
    /// whose content changed is sent again.
    public var sendOnce: (key: [String], content: [String])?

    public init(target: String, name: Template, table: String, filter: [(column: String, value: String?)], orderBy: [String], format: Format, checksum: Bool, whenEmpty: Bool) {
        self.target = target
        self.name = name
        self.table = table
        self.filter = filter
        self.orderBy = orderBy
        self.format = format
        self.checksum = checksum
        self.whenEmpty = whenEmpty
        self.sendOnce = nil
    }
}

/// The time approval and posting domain stage (contract §4-§5, §7.1), implemented once in
/// `DroplineProfessionalServices`. Entries of `record` carry these fields (names fixed):
/// entry_id, timesheet_id, worker, week_start, status, date, project, hours, category; the
/// `header` record carries timesheet_id, status, submitted_at.
public struct TimePostingLoad: Sendable {
    public static let entryFields = ["entry_id", "timesheet_id", "worker", "week_start", "status", "date", "project", "hours", "category"]
    public static let headerFields = ["timesheet_id", "status", "submitted_at"]
    /// The utilization buckets whose hours are facts (contract §7.4), in the order of the facts'
    /// columns; a category maps to one of them or to `absence`, which lowers the capacity.
    public static let countedBuckets = ["billable", "productive", "strategic", "internal", "training", "bench"]
    public static let buckets = countedBuckets + ["absence"]
    public var record: String
    public var header: String
    /// Overrides the zone's hold_days.
    public var holdDays: Int?
    /// Governed category mapping (absolute path) and its table.
    public var categories: ReferenceTable
    public var categoriesPath: String
    /// Outbound target folder of the ERP labor file.
    public var target: String

    public init(record: String, header: String, holdDays: Int?, categories: ReferenceTable, categoriesPath: String, target: String) {
        self.record = record
        self.header = header
        self.holdDays = holdDays
        self.categories = categories
        self.categoriesPath = categoriesPath
        self.target = target
    }
}
