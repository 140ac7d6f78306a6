import Foundation

/// One extracted record: typed fields by name, plus where it came from. `Sendable` value.
public struct Record: Sendable {
    /// The record type's name in the pipeline (`worker`, `project`, `entry`).
    public var type: String
    /// Field values by field name (after casts and transforms).
    public var fields: FieldMap
    /// 1-based line of the record element in the input.
    public var line: Int
    /// Ordinal of the record within its type in the file, from 1.
    public var ordinal: Int
    /// Problems found while extracting (casts, schema); the validate stage turns them into rejections.
    public var issues: [RecordIssue]
    /// Where the element stands: index among the root's element children, then (nested) index
    /// among its parent's element children. Used to cut reject files out of the original bytes.
    public var position = ElementPosition()
    /// What the element adds to each `sum` control total (by check index), as written.
    public var controlSums = ControlSums()

    public init(type: String, fields: FieldMap = [:], line: Int, ordinal: Int, issues: [RecordIssue] = []) {
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

/// Where an element stands in its document: its index among the root's element children, then
/// (nested) among its parent's, and so on. Records are units or nested one level down: two steps
/// are held inline, so a record's position needs no array of its own (deeper ones have one).
public struct ElementPosition: Sendable, Equatable, RandomAccessCollection, CustomStringConvertible {
    var first2: (Int, Int) = (0, 0)
    var deeper: [Int] = []
    public private(set) var count = 0

    public init() {}

    public init(_ steps: [Int]) {
        for s in steps { append(s) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(i: Int) -> Int {
        precondition(i >= 0 && i < count, "position step out of range")
        return i == 0 ? first2.0 : i == 1 ? first2.1 : deeper[i - 2]
    }

    public mutating func append(_ step: Int) {
        switch count {
        case 0: first2.0 = step
        case 1: first2.1 = step
        default: deeper.append(step)
        }
        count += 1
    }

    public mutating func removeLast() {
        precondition(count > 0, "removeLast of an empty position")
        if count > 2 { deeper.removeLast() }
        count -= 1
    }

    public static func == (a: ElementPosition, b: ElementPosition) -> Bool { a.elementsEqual(b) }

    public var description: String { Array(self).description }
}

/// What one element adds to the `sum` control totals, by check index. Most record types have
/// at most one sum: that one is held inline, so a record needs no table of its own for it.
public struct ControlSums: Sendable, Sequence {
    var first: (index: Int, value: Decimal)?
    var more: [(index: Int, value: Decimal)] = []

    public init() {}

    /// Records a check's contribution (each check index once).
    public mutating func append(_ index: Int, _ value: Decimal) {
        if first == nil { first = (index, value) } else { more.append((index, value)) }
    }

    public var isEmpty: Bool { first == nil }

    public struct Iterator: IteratorProtocol {
        let sums: ControlSums
        var position = 0

        public mutating func next() -> (index: Int, value: Decimal)? {
            defer { position += 1 }
            if position == 0 { return sums.first }
            return position - 1 < sums.more.count ? sums.more[position - 1] : nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(sums: self) }
}

/// A record's fields by name, in the order they were set: one array searched from the front.
/// Records have a handful of fields, whose names are short strings compared by their bits, so
/// the search is cheaper than hashing every name, and a record is one allocation, not a hash table.
public struct FieldMap: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// One field. A struct, not a `(name, value)` tuple: an array of tuples copied and destroyed
    /// its elements through the runtime's generic tuple witnesses, an indirect call per part of
    /// every element.
    struct Field: Sendable {
        var name: String
        var value: Value
    }

    var entries: ContiguousArray<Field> = []

    public init() {}

    public init(dictionaryLiteral elements: (String, Value)...) {
        for (k, v) in elements { self[k] = v }
    }

    @inline(__always)
    func index(of name: String) -> Int? {
        entries.withUnsafeBufferPointer { b in
            // A string's two words first: equal words are the same string, and a field name is
            // short, so its words hold the characters themselves and two equal names nearly
            // always have equal words (no call, no reference counting). The words are read
            // where the entry keeps its name (`Field.name`, at its offset): a copy of the name
            // would be retained and released, for every entry compared.
            let words = Self.words(name)
            if let base = UnsafeRawPointer(b.baseAddress), let offset = MemoryLayout<Field>.offset(of: \Field.name) {
                let stride = MemoryLayout<Field>.stride
                for i in b.indices {
                    let at = base + i * stride + offset
                    if at.load(as: UInt64.self) == words.0, at.load(fromByteOffset: 8, as: UInt64.self) == words.1 { return i }
                }
            }
            // Then by value, lengths first: most names of a record differ in length.
            let length = name.utf8.count
            for i in b.indices where b[i].name.utf8.count == length && b[i].name == name { return i }
            return nil
        }
    }

    @inline(__always)
    static func words(_ s: String) -> (UInt64, UInt64) { unsafeBitCast(s, to: (UInt64, UInt64).self) }

    /// Whether the name of entry `i` has these words, read where the entry keeps it.
    @inline(__always)
    static func name(in b: UnsafeBufferPointer<Field>, at i: Int, is words: (UInt64, UInt64)) -> Bool {
        guard let base = UnsafeRawPointer(b.baseAddress), let offset = MemoryLayout<Field>.offset(of: \Field.name) else { return false }
        let at = base + i * MemoryLayout<Field>.stride + offset
        return at.load(as: UInt64.self) == words.0 && at.load(fromByteOffset: 8, as: UInt64.self) == words.1
    }

    /// `index(of:)`, looking first where the name was in a record before (`place`, set to where
    /// it is found): records of one type list their fields in one order, so a reader of many
    /// finds each name in one comparison, not by a search from the first field.
    @inline(__always)
    func index(of name: String, place: inout Int) -> Int? {
        let p = place
        if entries.withUnsafeBufferPointer({ p >= 0 && p < $0.count && Self.name(in: $0, at: p, is: Self.words(name)) }) { return p }
        guard let i = index(of: name) else { return nil }
        place = i
        return i
    }

    /// A field's `Value.text`, `Value.date` and `Value.decimal`, read in place: through the
    /// subscript, every read copied the whole value out and destroyed it again. `place`: see
    /// `index(of:place:)`.
    public func text(_ name: String, place: inout Int) -> String? {
        guard let i = index(of: name, place: &place) else { return nil }
        if case .string(let s) = entries[i].value { return s }
        return entries[i].value.text
    }

    public func date(_ name: String, place: inout Int) -> BusinessDate? {
        guard let i = index(of: name, place: &place), case .date(let d) = entries[i].value else { return nil }
        return d
    }

    public func decimal(_ name: String, place: inout Int) -> Decimal? {
        guard let i = index(of: name, place: &place) else { return nil }
        return entries[i].value.decimal
    }

    public func text(_ name: String) -> String? {
        var place = -1
        return text(name, place: &place)
    }

    public func date(_ name: String) -> BusinessDate? {
        var place = -1
        return date(name, place: &place)
    }

    public func decimal(_ name: String) -> Decimal? {
        var place = -1
        return decimal(name, place: &place)
    }

    /// Adds a field the map does not have yet (the caller knows), without looking for it.
    public mutating func appendNew(_ name: String, _ value: Value) {
        assert(index(of: name) == nil, "appendNew of a field already present")
        entries.append(Field(name: name, value: value))
    }

    public subscript(name: String) -> Value? {
        get { index(of: name).map { entries[$0].value } }
        set {
            if let i = index(of: name) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append(Field(name: name, value: newValue))
            }
        }
    }

    @discardableResult
    public mutating func removeValue(forKey name: String) -> Value? {
        guard let i = index(of: name) else { return nil }
        return entries.remove(at: i).value
    }

    public mutating func reserveCapacity(_ n: Int) { entries.reserveCapacity(n) }

    /// Removes every field, keeping the storage for the fields of another record.
    public mutating func removeAllKeepingCapacity() { entries.removeAll(keepingCapacity: true) }

    public var count: Int { entries.count }

    /// The value of the field set `i`-th (in the order fields were set).
    public func value(at i: Int) -> Value { entries[i].value }
    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.name) }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: Value)> {
        entries.lazy.map { (key: $0.name, value: $0.value) }.makeIterator()
    }

    /// Equal when they hold the same names with the same values, whatever the order.
    public static func == (a: FieldMap, b: FieldMap) -> Bool {
        a.count == b.count && a.entries.allSatisfy { b[$0.name] == $0.value }
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
