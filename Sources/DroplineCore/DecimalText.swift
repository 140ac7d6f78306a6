import Foundation

/// Exact decimal parsing and formatting. Foundation's `Decimal(string:)` is lenient (it reads
/// `7,50` as 7); these functions accept only the lexical forms the interfaces allow.
public enum DecimalText {
    /// Parses `[-]digits[<separator>digits]`. Returns nil for anything else (no exponent, no
    /// thousands separators, no blanks). `allowSign` permits a leading minus.
    public static func parse(_ text: Substring, separator: UInt8 = UInt8(ascii: "."), allowSign: Bool = true) -> Decimal? {
        var utf8 = text.utf8[...]
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
        if overflow {
            // Long values: let Foundation do the arithmetic on a normalised string.
            var normalised = String(decoding: utf8, as: UTF8.self)
            if separator != UInt8(ascii: ".") {
                normalised = normalised.replacingOccurrences(of: String(UnicodeScalar(separator)), with: ".")
            }
            guard let value = Decimal(string: (negative ? "-" : "") + normalised, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
            return value
        }
        return Decimal(sign: negative && mantissa != 0 ? .minus : .plus, exponent: -scale, significand: Decimal(mantissa))
    }

    public static func parse(_ text: String, separator: UInt8 = UInt8(ascii: "."), allowSign: Bool = true) -> Decimal? {
        parse(Substring(text), separator: separator, allowSign: allowSign)
    }

    /// Number of fraction digits after stripping trailing zeros (`7.500` -> 1, `1.125` -> 3).
    public static func significantScale(_ value: Decimal) -> Int {
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
        var v = value
        var r = Decimal()
        NSDecimalRound(&r, &v, scale, .plain)  // .plain rounds ties away from zero
        return r
    }

    /// Fixed-point text with exactly `scale` fraction digits, `.` separator; never `-0.00`.
    public static func format(_ value: Decimal, scale: Int) -> String {
        let rounded = roundHalfUp(value, scale: scale)
        if scale >= 0 && scale < powersOfTen.count {
            // Below 10^17 once scaled: the digits of one exact integer, the point put back in.
            let scaled = rounded.magnitude * powersOfTen[scale]
            if scaled < fastLimit {
                let n = NSDecimalNumber(decimal: scaled).uint64Value
                var digits = String(n)
                if scale > 0 {
                    let count = digits.utf8.count
                    if count <= scale { digits = String(repeating: "0", count: scale - count + 1) + digits }
                    digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
                }
                return (rounded < 0 && n != 0 ? "-" : "") + digits
            }
        }
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
        Decimal(sign: n < 0 ? .minus : .plus, exponent: -2, significand: Decimal(n.magnitude))
    }

    /// Text with two decimals of a count of hundredths (`-1250` -> `-12.50`).
    public static func format(hundredths n: Int64) -> String { format(fromHundredths(n), scale: 2) }

    static let powersOfTen: [Decimal] = (0...9).map { pow(Decimal(10), $0) }
    static let fastLimit = Decimal(sign: .plus, exponent: 17, significand: 1)

    /// Canonical text without trailing zeros, for comparing and storing values exactly.
    /// (`description` is `NSDecimalString` with a `.` separator, without the locale lookup.)
    public static func canonical(_ value: Decimal) -> String { value.description }
}

extension String {
    /// Without leading and trailing XML white space (space, tab, CR, LF): the collapse XML Schema
    /// applies to dates, decimals and counts. Works on UTF-8 bytes; no Foundation bridging.
    public var xmlTrimmed: Substring {
        let u = utf8
        var start = u.startIndex, end = u.endIndex
        func space(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        while start < end, space(u[start]) { start = u.index(after: start) }
        while end > start, space(u[u.index(before: end)]) { end = u.index(before: end) }
        return self[start..<end]
    }
}
