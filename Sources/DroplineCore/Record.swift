import Foundation

/// One extracted record: typed fields by name, plus where it came from. `Sendable` value.
public struct Record: Sendable {
    /// The record type's name in the pipeline (`worker`, `project`, `entry`).
    public var type: String
    /// Field values by field name (after casts and transforms).
    public var fields: [String: Value]
    /// 1-based line of the record element in the input.
    public var line: Int
    /// Ordinal of the record within its type in the file, from 1.
    public var ordinal: Int
    /// Problems found while extracting (casts, schema); the validate stage turns them into rejections.
    public var issues: [RecordIssue]
    /// Where the element stands: index among the root's element children, then (nested) index
    /// among its parent's element children. Used to cut reject files out of the original bytes.
    public var position: [Int] = []
    /// What the element adds to each `sum` control total (by check index), as written.
    public var controlSums: [Int: Decimal] = [:]

    public init(type: String, fields: [String: Value] = [:], line: Int, ordinal: Int, issues: [RecordIssue] = []) {
        self.type = type
        self.fields = fields
        self.line = line
        self.ordinal = ordinal
        self.issues = issues
    }

    public subscript(field: String) -> Value {
        get { fields[field] ?? .null }
        set { fields[field] = newValue }
    }
}

/// One failed check on one record: which rule, which field, what was expected, what was there.
/// `actual` may hold record values: it goes to reject files only, never to logs.
public struct RecordIssue: Error, Sendable, Hashable, Codable {
    public var code: ReasonCode
    public var field: String?
    public var expected: String?
    public var actual: String?
    public var hint: String?

    public init(code: ReasonCode, field: String? = nil, expected: String? = nil, actual: String? = nil, hint: String? = nil) {
        self.code = code
        self.field = field
        self.expected = expected
        self.actual = actual
        self.hint = hint
    }
}

/// A record that will not be loaded: its key, where it was, every failed check (primary first).
public struct Rejection: Sendable, Codable {
    public var recordType: String
    public var key: String?
    public var line: Int
    public var primary: ReasonCode
    public var issues: [RecordIssue]

    public init(recordType: String, key: String?, line: Int, issues: [RecordIssue]) {
        precondition(!issues.isEmpty, "a rejection needs at least one issue")
        self.recordType = recordType
        self.key = key
        self.line = line
        self.primary = issues[0].code
        self.issues = issues
    }
}
