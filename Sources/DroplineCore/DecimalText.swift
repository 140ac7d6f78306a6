import Foundation

/// Exact decimal parsing and formatting. Foundation's `Decimal(string:)` is lenient (it reads
/// `7,50` as 7); these functions accept only the lexical forms the interfaces allow.
public enum DecimalText {
    /// Parses `[-]digits[<separator>digits]`. Returns nil for anything else (no exponent, no
    /// thousands separators, no blanks). `allowSign` permits a leading minus.
    public static func parse(_ text: Substring, separator: UInt8 = UInt8(ascii: "."), allowSign: Bool = true) -> Decimal? {
        guard let s = scan(text, separator: separator, allowSign: allowSign) else { return nil }
        guard s.overflow else {
            return decimal(negative: s.negative, s.mantissa, scale: s.scale)
        }
        return long(text.utf8.dropFirst(s.negative ? 1 : 0), negative: s.negative, separator: separator)
    }

    /// Whether `text` has the lexical form `parse` reads, whatever its length.
    public static func isLexical(_ text: Substring, separator: UInt8 = UInt8(ascii: "."), allowSign: Bool = true) -> Bool {
        scan(text, separator: separator, allowSign: allowSign) != nil
    }

    /// Most significant digits a `Decimal` holds exactly (its significand has 128 bits).
    public static let maxSignificantDigits = 38

    /// A value of more than 18 digits (already known to be of the lexical form), exactly: its
    /// digits without leading and trailing zeros become the significand, or nil when more than
    /// `maxSignificantDigits` remain or the exponent is out of `Decimal`'s range. Foundation's
    /// `Decimal(string:)` would round those silently (`8.000…0001` read as 8).
    static func long(_ utf8: Substring.UTF8View.SubSequence, negative: Bool, separator: UInt8) -> Decimal? {
        var digits: [UInt8] = []
        var scale = 0
        var fraction = false
        for c in utf8 {
            if c == separator { fraction = true; continue }
            if fraction { scale += 1 }
            if digits.isEmpty && c == UInt8(ascii: "0") { continue }
            digits.append(c)
        }
        while digits.last == UInt8(ascii: "0") {
            digits.removeLast()
            scale -= 1
        }
        if digits.isEmpty { return Decimal(0) }
        guard digits.count <= maxSignificantDigits, (-128...127).contains(-scale),
            let significand = Decimal(string: String(decoding: digits, as: UTF8.self), locale: Locale(identifier: "en_US_POSIX"))
        else { return nil }
        return Decimal(sign: negative ? .minus : .plus, exponent: -scale, significand: significand)
    }

    /// What `parse` accepts, as an `Exact` without building a `Decimal`; nil also for a value of
    /// more than 18 digits (which `parse` still reads).
    public static func parseExact(_ text: Substring, separator: UInt8 = UInt8(ascii: "."), allowSign: Bool = true) -> Exact? {
        guard let s = scan(text, separator: separator, allowSign: allowSign), !s.overflow else { return nil }
        return normalised(negative: s.negative && s.mantissa != 0, s.mantissa, exponent: -s.scale)
    }

    /// `[-]digits[<separator>digits]` read into a 64-bit mantissa and a count of fraction digits
    /// (`overflow`: more than 18 digits, the mantissa is then meaningless); nil if not that form.
    static func scan(_ text: Substring, separator: UInt8, allowSign: Bool) -> (negative: Bool, mantissa: UInt64, scale: Int, overflow: Bool)? {
        scan(utf8: text.utf8, separator: separator, allowSign: allowSign)
    }

    /// `parse` of text given as its UTF-8 bytes, for the values that fit in 18 digits (nil for
    /// any other: `parse` of the text reads those).
    public static func parse(bytes: UnsafeBufferPointer<UInt8>, separator: UInt8 = UInt8(ascii: "."), allowSign: Bool = true) -> Decimal? {
        guard let s = scan(utf8: bytes, separator: separator, allowSign: allowSign), !s.overflow else { return nil }
        return decimal(negative: s.negative, s.mantissa, scale: s.scale)
    }

    static func scan<C: Collection<UInt8>>(utf8 all: C, separator: UInt8, allowSign: Bool) -> (negative: Bool, mantissa: UInt64, scale: Int, overflow: Bool)? {
        var utf8 = all[...]
        guard !utf8.isEmpty else { return nil }
        var negative = false
        if utf8.first == UInt8(ascii: "-") {
            guard allowSign else { return nil }
            negative = true
            utf8 = utf8.dropFirst()
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var scale = 0
        var seenSeparator = false
        var intDigits = 0
        var overflow = false
        for c in utf8 {
            if c == separator {
                guard !seenSeparator, intDigits > 0 else { return nil }
                seenSeparator = true
                continue
            }
            guard c >= 48, c <= 57 else { return nil }
            if seenSeparator { scale += 1 } else { intDigits += 1 }
            digits += 1
            if digits > 18 { overflow = true }
            mantissa = mantissa &* 10 &+ UInt64(c - 48)
        }
        guard intDigits > 0, !(seenSeparator && scale == 0) else { return nil }
        return (negative, mantissa, scale, overflow)
    }

    public static func parse(_ text: String, separator: UInt8 = UInt8(ascii: "."), allowSign: Bool = true) -> Decimal? {
        parse(Substring(text), separator: separator, allowSign: allowSign)
    }

    // MARK: exact integer arithmetic
    //
    // Foundation's `Decimal` costs 100 to 400 ns an operation (a comparison of two values with
    // different exponents, a multiplication, a rounding, `description`), several of them per time
    // entry. The values Dropline handles (hours, rates, amounts) fit a 64-bit integer and a count
    // of fraction digits, where the same results are exact integer arithmetic. Every function
    // below takes that path when the value fits and Foundation's otherwise, with the same result.

    /// A decimal as an exact integer and a count of fraction digits: the value is
    /// `(negative ? -1 : 1) × magnitude / 10^scale`, with no trailing zero among the fraction
    /// digits (`7.50` is 75 and 1; zero is 0 and 0, never negative).
    public struct Exact: Equatable, Sendable {
        public var negative: Bool
        public var magnitude: UInt64
        public var scale: Int

        public var decimal: Decimal { DecimalText.decimal(negative: negative, magnitude, scale: scale) }
    }

    /// `(negative ? -1 : 1) × n / 10^scale` as a `Decimal`, without arithmetic (zero is never
    /// negative): written into the value's bytes where `rawLayoutKnown` (Foundation's two
    /// initializers took about 250 instructions, for every hours value cast and every amount).
    static func decimal(negative: Bool, _ n: UInt64, scale: Int) -> Decimal {
        if rawLayoutKnown, scale >= 0, scale <= 100 { return rawDecimal(negative: negative, n, scale: scale) }
        return foundationDecimal(negative: negative, n, scale: scale)
    }

    static func foundationDecimal(negative: Bool, _ n: UInt64, scale: Int) -> Decimal {
        Decimal(sign: negative && n != 0 ? .minus : .plus, exponent: -scale, significand: Decimal(n))
    }

    /// `decimal` written as Foundation writes it (the layout `rawExact` reads): zero all zero
    /// bytes; else trailing zeros moved into the exponent, the significand in as few 16-bit
    /// words as it needs, and the flags byte holding their count, the sign and "compact".
    static func rawDecimal(negative: Bool, _ n: UInt64, scale: Int) -> Decimal {
        var d = Decimal()
        guard n != 0 else { return d }
        var m = n
        var exponent = -scale
        while m % 10 == 0 {
            m /= 10
            exponent += 1
        }
        let words = (64 - m.leadingZeroBitCount + 15) / 16
        withUnsafeMutableBytes(of: &d) { b in
            b[0] = UInt8(bitPattern: Int8(exponent))
            b[1] = UInt8(words << 4) | (negative ? 0x08 : 0) | 0x04
            for i in 0..<words {
                b[4 + 2 * i] = UInt8(truncatingIfNeeded: m >> (16 * i))
                b[5 + 2 * i] = UInt8(truncatingIfNeeded: m >> (16 * i + 8))
            }
        }
        return d
    }

    /// `value` as an `Exact`, or nil when it does not fit (a significand of more than 64 bits, a
    /// fraction of more than 18 digits) or is NaN. One conversion of the significand.
    public static func exact(_ value: Decimal) -> Exact? {
        if rawLayoutKnown { return rawExact(value) }
        return foundationExact(value)
    }

    static func foundationExact(_ value: Decimal) -> Exact? {
        if value.isNaN { return nil }
        if value.isZero { return Exact(negative: false, magnitude: 0, scale: 0) }
        let significand = value.significand
        let m = NSDecimalNumber(decimal: significand).uint64Value
        // Past 64 bits the conversion gives 0 or wraps: the round trip tells.
        guard m != 0, Decimal(m) == significand else { return nil }
        return normalised(negative: value.sign == .minus, m, exponent: value.exponent)
    }

    /// `exact` read from the value's bytes: the exponent (a signed byte), then the length of the
    /// significand in 16-bit words and the sign in the next byte, then the significand's words,
    /// least significant first, from byte 4. That is `NSDecimal`'s layout, which swift-foundation
    /// keeps but does not expose; `rawLayoutKnown` checks it on sample values before it is used.
    /// Converting through `NSDecimalNumber` instead allocated an object for every call, several
    /// times per time entry.
    static func rawExact(_ value: Decimal) -> Exact? {
        withUnsafeBytes(of: value) { b -> Exact? in
            let length = Int(b[1] >> 4)
            let negative = b[1] & 0x08 != 0
            if length == 0 { return negative ? nil : Exact(negative: false, magnitude: 0, scale: 0) }  // NaN, zero
            guard length <= 4 else { return nil }
            var m: UInt64 = 0
            for i in stride(from: length - 1, through: 0, by: -1) {
                m = m << 16 | UInt64(b[4 + 2 * i]) | UInt64(b[5 + 2 * i]) << 8
            }
            guard m != 0 else { return nil }
            return normalised(negative: negative, m, exponent: Int(Int8(bitPattern: b[0])))
        }
    }

    /// Whether this platform lays out `Decimal` as `rawExact` reads it and `rawDecimal` writes it:
    /// on values of every significand length, sign and exponent direction, NaN and zero included,
    /// `rawExact` agrees with Foundation's reading, and `rawDecimal` writes Foundation's bytes.
    /// One flag for both: they rest on the one layout.
    static let rawLayoutKnown: Bool = {
        guard MemoryLayout<Decimal>.size == 20 else { return false }
        let samples: [Decimal] = [0, 1, -1, 7.5, -123.45, 65535, 65536, -4_294_967_296, Decimal(UInt64.max), Decimal(UInt64.max) + 1, .nan,
                                  Decimal(sign: .minus, exponent: -18, significand: 123_456_789_012_345_678), Decimal(sign: .plus, exponent: 3, significand: 42),
                                  Decimal(sign: .plus, exponent: 40, significand: 1), Decimal(string: "340282366920938463463374607431768211455")!]
        let written: [(Bool, UInt64, Int)] = [(false, 0, 0), (true, 0, 2), (false, 1, 0), (true, 1, 0), (false, 750, 2), (true, 800, 2), (false, 100, 0),
                                              (false, 65_535, 1), (false, 65_536, 1), (true, 4_294_967_296, 18), (false, UInt64.max, 6), (false, 1_200_000_000, 6)]
        return samples.allSatisfy { rawExact($0) == foundationExact($0) }
            && written.allSatisfy { sameBytes(rawDecimal(negative: $0.0, $0.1, scale: $0.2), foundationDecimal(negative: $0.0, $0.1, scale: $0.2)) }
    }()

    /// Whether two decimals are the same bytes (not only the same value).
    static func sameBytes(_ a: Decimal, _ b: Decimal) -> Bool {
        withUnsafeBytes(of: a) { x in withUnsafeBytes(of: b) { y in x.elementsEqual(y) } }
    }

    /// `(negative ? -1 : 1) × m × 10^exponent` as an `Exact` (trailing zeros dropped), nil if
    /// it does not fit.
    static func normalised(negative: Bool, _ m: UInt64, exponent: Int) -> Exact? {
        var m = m
        var e = exponent
        while e > 0 {
            let (p, overflow) = m.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            m = p
            e -= 1
        }
        var scale = -e
        while scale > 0, m % 10 == 0 {
            m /= 10
            scale -= 1
        }
        guard scale < tens.count else { return nil }
        return Exact(negative: negative, magnitude: m, scale: scale)
    }

    /// `x` in units of 10^-`scale`, rounded half-up (ties away from zero) on the magnitude; nil
    /// if that overflows.
    public static func units(_ x: Exact, scale: Int) -> UInt64? {
        guard scale >= 0 else { return nil }
        if x.scale <= scale {
            let k = scale - x.scale
            guard k < tens.count else { return nil }
            let (p, overflow) = x.magnitude.multipliedReportingOverflow(by: tens[k])
            return overflow ? nil : p
        }
        let d = tens[x.scale - scale]
        let q = x.magnitude / d, r = x.magnitude % d
        return r >= d - r ? q + 1 : q  // 2r >= d, without overflow; q < 2^64 / 10, so q + 1 fits
    }

    /// `value` in hundredths, exactly, or nil if it has more than two fraction digits or does
    /// not fit.
    public static func exactHundredths(_ value: Decimal) -> Int64? {
        guard let x = exact(value), x.scale <= 2, let n = units(x, scale: 2), n <= UInt64(Int64.max) else { return nil }
        return x.negative ? -Int64(n) : Int64(n)
    }

    /// `value` in hundredths: exact when it has at most two fraction digits, else truncated
    /// toward zero (hours that failed check 2 still get a figure for reconciliation).
    public static func hundredths(_ value: Decimal) -> Int64 {
        exactHundredths(value) ?? NSDecimalNumber(decimal: value * 100).int64Value
    }

    /// `hundredths` / 100 × `factor`, rounded half-up to `scale` fraction digits; nil if it does
    /// not fit 64 bits.
    public static func product(hundredths: Int64, _ factor: Exact, scale: Int) -> Decimal? {
        let (m, overflow) = hundredths.magnitude.multipliedReportingOverflow(by: factor.magnitude)
        guard !overflow, 2 + factor.scale < tens.count else { return nil }
        let negative = (hundredths < 0) != factor.negative
        guard let n = units(Exact(negative: negative, magnitude: m, scale: 2 + factor.scale), scale: scale) else { return nil }
        return decimal(negative: negative, n, scale: scale)
    }

    /// 10^0 ... 10^18.
    static let tens: [UInt64] = (0...18).reduce(into: []) { t, i in t.append(i == 0 ? 1 : t[i - 1] * 10) }

    /// The digits of `n` with a point before the last `scale` of them (`12345`, 2 -> `123.45`;
    /// `5`, 2 -> `0.05`), and a minus if `negative`.
    static func fixedText(negative: Bool, _ n: UInt64, scale: Int) -> String {
        withFixedBytes(negative: negative, n, scale: scale) { String(decoding: $0, as: UTF8.self) }
    }

    /// `fixedText`'s bytes, handed to `body` without a string made of them.
    static func withFixedBytes<R>(negative: Bool, _ n: UInt64, scale: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        // At most 20 digits, a point, a sign and the zeros before the point: written backwards
        // into a buffer on the stack.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24 + max(0, scale)) { b in
            var i = b.count
            var v = n
            var written = 0
            repeat {
                if scale > 0 && written == scale {
                    i -= 1
                    b[i] = UInt8(ascii: ".")
                }
                i -= 1
                b[i] = UInt8(48 + v % 10)
                v /= 10
                written += 1
            } while v > 0 || written <= scale
            if negative {
                i -= 1
                b[i] = UInt8(ascii: "-")
            }
            return body(UnsafeBufferPointer(rebasing: b[i...]))
        }
    }

    /// Number of fraction digits after stripping trailing zeros (`7.500` -> 1, `1.125` -> 3).
    public static func significantScale(_ value: Decimal) -> Int {
        if let x = exact(value) { return x.scale }
        return foundationSignificantScale(value)
    }

    static func foundationSignificantScale(_ value: Decimal) -> Int {
        var v = value
        var scale = 0
        while scale < 38 {
            var r = Decimal()
            NSDecimalRound(&r, &v, scale, .plain)
            if r == v { return scale }
            scale += 1
        }
        return scale
    }

    /// Half-up rounding (ties away from zero) to `scale` fraction digits.
    public static func roundHalfUp(_ value: Decimal, scale: Int) -> Decimal {
        if scale >= 0, let x = exact(value) {
            if x.scale <= scale { return value }
            if let n = units(x, scale: scale) {
                return decimal(negative: x.negative, n, scale: scale)
            }
        }
        return foundationRoundHalfUp(value, scale: scale)
    }

    static func foundationRoundHalfUp(_ value: Decimal, scale: Int) -> Decimal {
        var v = value
        var r = Decimal()
        NSDecimalRound(&r, &v, scale, .plain)  // .plain rounds ties away from zero
        return r
    }

    /// Fixed-point text with exactly `scale` fraction digits, `.` separator; never `-0.00`.
    public static func format(_ value: Decimal, scale: Int) -> String {
        withFormatBytes(value, scale: scale) { String(decoding: $0, as: UTF8.self) } ?? foundationFormat(value, scale: scale)
    }

    /// `format`'s bytes, handed to `body` without a string made of them; nil (and `body` not
    /// called) when the value is not one `exact` reads, which `format` writes through Foundation.
    public static func withFormatBytes<R>(_ value: Decimal, scale: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        guard let x = exact(value), let n = units(x, scale: scale) else { return nil }
        return withFixedBytes(negative: x.negative && n != 0, n, scale: scale, body)
    }

    static func foundationFormat(_ value: Decimal, scale: Int) -> String {
        let rounded = foundationRoundHalfUp(value, scale: scale)
        var magnitude = rounded.magnitude
        var text = NSDecimalString(&magnitude, Locale(identifier: "en_US_POSIX"))
        if scale > 0 {
            if let dot = text.firstIndex(of: ".") {
                let have = text.distance(from: text.index(after: dot), to: text.endIndex)
                if have < scale { text += String(repeating: "0", count: scale - have) }
            } else {
                text += "." + String(repeating: "0", count: scale)
            }
        }
        let isZero = rounded == 0
        return (rounded < 0 && !isZero ? "-" : "") + text
    }

    /// The exact value of a count of hundredths, without a division.
    public static func fromHundredths(_ n: Int64) -> Decimal {
        decimal(negative: n < 0, n.magnitude, scale: 2)
    }

    /// Text with two decimals of a count of hundredths (`-1250` -> `-12.50`).
    public static func format(hundredths n: Int64) -> String { withFormatBytes(hundredths: n) { String(decoding: $0, as: UTF8.self) } }

    /// `format(hundredths:)`'s bytes, handed to `body` without a string made of them.
    public static func withFormatBytes<R>(hundredths n: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        withFixedBytes(negative: n < 0, n.magnitude, scale: 2, body)
    }

    /// `canonical` of a count of hundredths (`750` -> `7.5`, `800` -> `8`, `-5` -> `-0.05`).
    public static func canonical(hundredths n: Int64) -> String {
        let m = n.magnitude
        let (units, scale): (UInt64, Int) = m % 100 == 0 ? (m / 100, 0) : m % 10 == 0 ? (m / 10, 1) : (m, 2)
        return fixedText(negative: n < 0, units, scale: scale)
    }

    /// Canonical text without trailing zeros, for comparing and storing values exactly.
    /// (`description` is `NSDecimalString` with a `.` separator, without the locale lookup.)
    public static func canonical(_ value: Decimal) -> String {
        if let x = exact(value) { return fixedText(negative: x.negative && x.magnitude != 0, x.magnitude, scale: x.scale) }
        return value.description
    }
}

extension UInt8 {
    /// XML's white space (the `S` of its grammar): space, tab, line feed, carriage return.
    @inlinable public var isXMLSpace: Bool { self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D }
}

extension String {
    /// Without leading and trailing XML white space (space, tab, CR, LF): the collapse XML Schema
    /// applies to dates, decimals and counts. Works on UTF-8 bytes; no Foundation bridging.
    public var xmlTrimmed: Substring {
        let u = utf8
        // Nothing to trim, the usual case: the whole, without walking indices (half the time).
        guard let first = u.first, let last = u.last, !first.isXMLSpace, !last.isXMLSpace else {
            var start = u.startIndex, end = u.endIndex
            while start < end, u[start].isXMLSpace { start = u.index(after: start) }
            while end > start, u[u.index(before: end)].isXMLSpace { end = u.index(before: end) }
            return self[start..<end]
        }
        return Substring(self)
    }
}

/// An exact running total of decimals: whole units of 10^-6 in a 64-bit integer while the terms
/// fit there, Foundation's `Decimal` for any term (or overflow) beyond. Adding integers is about a
/// hundred times cheaper than adding `Decimal`s, and the total is the same.
public struct ExactSum: Sendable {
    static let scale = 6
    var units: Int64 = 0
    var rest: Decimal = 0

    public init() {}

    /// A sum of `d` alone.
    public init(_ d: Decimal) { add(d) }

    public mutating func add(_ x: DecimalText.Exact) {
        if x.scale <= Self.scale, let u = DecimalText.units(x, scale: Self.scale), u <= UInt64(Int64.max) {
            let (sum, overflow) = units.addingReportingOverflow(x.negative ? -Int64(u) : Int64(u))
            if !overflow {
                units = sum
                return
            }
        }
        rest += x.decimal
    }

    /// Adds `d`, in units where it is exact in them: Foundation's `Decimal` addition took some
    /// 4,000 instructions (a rejected entry's hours added to its reject file's total).
    public mutating func add(_ d: Decimal) {
        if let x = DecimalText.exact(d) { add(x) } else { rest += d }
    }

    public var total: Decimal {
        let whole = DecimalText.decimal(negative: units < 0, units.magnitude, scale: Self.scale)
        return rest.isZero ? whole : whole + rest
    }
}
