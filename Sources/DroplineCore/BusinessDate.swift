/// A calendar date without time or zone: the business date of an export, an entry date, a
/// validity bound. Comparable, cheap, exact. `Date` is used only at the edges.
public struct BusinessDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Days since 1970-01-01 (proleptic Gregorian), for arithmetic: what compares, hashes and
    /// moves by days.
    public var dayNumber: Int { Int(days) }
    /// `dayNumber` (years 1-9999 are within a few million days of 1970).
    private let days: Int32
    /// Year, month and day packed (`year << 9 | month << 5 | day`), worked out once where the
    /// date is made: comparing, hashing and adding days need no calendar arithmetic.
    private let packed: UInt32

    public var year: Int { Int(packed >> 9) }
    public var month: Int { Int(packed >> 5 & 15) }
    public var day: Int { Int(packed & 31) }

    /// The open-ended sentinel, 9999-12-31.
    public static let openEnd = BusinessDate(unchecked: 9999, 12, 31)

    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            day >= 1, day <= BusinessDate.daysInMonth(year: year, month: month)
        else { return nil }
        self.init(unchecked: year, month, day)
    }

    init(unchecked year: Int, _ month: Int, _ day: Int) {
        packed = UInt32(year) << 9 | UInt32(month) << 5 | UInt32(day)
        days = Int32(Self.dayNumber(year, month, day))
    }

    init(dayNumber: Int, year: Int, month: Int, day: Int) {
        days = Int32(dayNumber)
        packed = UInt32(year) << 9 | UInt32(month) << 5 | UInt32(day)
    }

    public static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Parses `YYYY-MM-DD` exactly (no zone, no surrounding text).
    public init?(iso text: Substring) {
        var text = text
        guard let date = text.withUTF8(BusinessDate.init(isoBytes:)) else { return nil }
        self = date
    }

    /// `init(iso:)` of text given as its UTF-8 bytes, read in place (`DigitText`): how every
    /// date an export carries is cast.
    public init?(isoBytes bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = DigitText.number(bytes, 0, 4), let month = DigitText.number(bytes, 5, 2), let day = DigitText.number(bytes, 8, 2)
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public init?(iso text: String) { self.init(iso: Substring(text)) }

    /// Parses `YYYYMMDD` exactly.
    public init?(compact text: Substring) {
        var text = text
        guard let date = text.withUTF8({ bytes -> BusinessDate? in
            guard bytes.count == 8, let year = DigitText.number(bytes, 0, 4), let month = DigitText.number(bytes, 4, 2), let day = DigitText.number(bytes, 6, 2) else { return nil }
            return BusinessDate(year: year, month: month, day: day)
        }) else { return nil }
        self = date
    }

    static func dayNumber(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The date `dayNumber` days after 1970-01-01; outside years 1-9999 the nearest of those
    /// (a far date from a large configured number of days stays a date, and compares as far).
    public init(dayNumber: Int) {
        let z0 = min(max(dayNumber, Self.first), Self.last)
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(dayNumber: z0, year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    /// Day numbers of 0001-01-01 and 9999-12-31.
    static let first = dayNumber(1, 1, 1), last = dayNumber(9999, 12, 31)

    public func adding(days n: Int) -> BusinessDate {
        // Within the month (most of what the rules add: a week's days), no calendar arithmetic.
        if n > -28, n < 28, case let d = day + n, d >= 1, d <= 28 { return BusinessDate(dayNumber: dayNumber + n, year: year, month: month, day: d) }
        let (sum, overflow) = dayNumber.addingReportingOverflow(n)
        return BusinessDate(dayNumber: overflow ? (n < 0 ? Int.min : Int.max) : sum)
    }

    /// ISO weekday: 1 = Monday ... 7 = Sunday.
    public var isoWeekday: Int {
        let w = (dayNumber + 3) % 7  // 1970-01-01 was a Thursday
        return (w < 0 ? w + 7 : w) + 1
    }

    /// `YYYY-MM-DD`.
    public var description: String { iso }

    public var iso: String {
        String(unsafeUninitializedCapacity: 10) { b in
            writeISO(into: b)
            return 10
        }
    }

    /// Writes `iso`'s 10 bytes at the start of `b` (which has room for them).
    public func writeISO(into b: UnsafeMutableBufferPointer<UInt8>) {
        put(year, 4, b, 0)
        b[4] = UInt8(ascii: "-")
        put(month, 2, b, 5)
        b[7] = UInt8(ascii: "-")
        put(day, 2, b, 8)
    }

    /// `YYYYMMDD`.
    public var compact: String {
        String(unsafeUninitializedCapacity: 8) { b in
            put(year, 4, b, 0)
            put(month, 2, b, 4)
            put(day, 2, b, 6)
            return 8
        }
    }

    public static func < (a: BusinessDate, b: BusinessDate) -> Bool { a.days < b.days }

    public static func == (a: BusinessDate, b: BusinessDate) -> Bool { a.days == b.days }

    public func hash(into hasher: inout Hasher) { hasher.combine(days) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = BusinessDate(iso: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a date: \(text)"))
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(iso)
    }
}

/// Decimal digits of a non-negative value, zero-padded to `width` (`zeroPad(7, 3)` = "007").
public func zeroPad(_ value: Int, _ width: Int) -> String {
    guard value >= 0, width <= 20 else {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
    var digits = 1
    var v = value
    while v >= 10 {
        v /= 10
        digits += 1
    }
    let n = max(digits, width)
    return String(unsafeUninitializedCapacity: n) { b in
        put(value, n, b, 0)
        return n
    }
}

/// Writes `value` (not negative) as exactly `width` decimal digits at `at`, zero-padded; digits
/// beyond `width` are dropped (callers pass a width that holds the value).
@inline(__always)
func put(_ value: Int, _ width: Int, _ b: UnsafeMutableBufferPointer<UInt8>, _ at: Int) {
    var v = value
    var i = at + width - 1
    while i >= at {
        b[i] = UInt8(48 + v % 10)
        v /= 10
        i -= 1
    }
}
