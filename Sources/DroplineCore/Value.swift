import Foundation

/// A typed field value after extraction. Hours and money are `decimal`, never floating point.
public enum Value: Sendable, Hashable {
    case null
    case string(String)
    case integer(Int64)
    case decimal(Decimal, scale: Int?)
    case date(BusinessDate)
    /// A timestamp kept as written (with its mandatory offset) plus the instant it denotes.
    case timestamp(String, Date)
    case boolean(Bool)

    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The text stored in SQLite and written to files: dates ISO, decimals at their declared
    /// scale (or canonical), booleans as `Y`/`N`... kept exact.
    public var text: String? {
        switch self {
        case .null: nil
        case .string(let s): s
        case .integer(let i): String(i)
        case .decimal(let d, let scale): scale.map { DecimalText.format(d, scale: $0) } ?? DecimalText.canonical(d)
        case .date(let d): d.iso
        case .timestamp(let raw, _): raw
        case .boolean(let b): b ? "true" : "false"
        }
    }

    public var decimal: Decimal? {
        switch self {
        case .decimal(let d, _): d
        case .integer(let i): Decimal(i)
        default: nil
        }
    }

    public var date: BusinessDate? { if case .date(let d) = self { d } else { nil } }

    public var string: String? { if case .string(let s) = self { s } else { text } }
}

extension Value: Comparable {
    /// Orders values of the same kind; values of different kinds compare by their text.
    public static func < (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): x < y
        case (.date(let x), .date(let y)): x < y
        case (.timestamp(_, let x), .timestamp(_, let y)): x < y
        case (.null, .null): false
        case (.null, _): true
        case (_, .null): false
        default:
            if let x = a.decimal, let y = b.decimal { x < y } else { (a.text ?? "") < (b.text ?? "") }
        }
    }
}
