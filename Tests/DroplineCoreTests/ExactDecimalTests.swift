@testable import DroplineCore
import DroplineTesting
import Foundation
import Testing

/// The integer fast paths of `DecimalText` give what Foundation's `Decimal` arithmetic gives, on
/// edge cases and on 20,000 seeded random values across the whole range (fitting or not).
struct ExactDecimalTests {
    static let edges: [Decimal] = [
        "0", "-0", "0.005", "-0.005", "0.015", "2.5", "-2.5", "999.995", "-999.995", "0.000000000000000001",
        "0.0000000000000000001", "18446744073709551615", "18446744073709551616", "184467440737095516.15",
        "99999999999999999.995", "7.50", "7.125", "24", "24.01", "100", "1E+3", "5E+20", "-12345.6789",
    ].map { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX"))! }

    static func values() -> [Decimal] {
        var g = SeededGenerator(seed: 20261129)
        var out = edges
        for _ in 0..<20_000 {
            // Significands of 1 to 20 digits, exponents from -20 to 3.
            let digits = Int.random(in: 1...20, using: &g)
            let significand = digits >= 20 ? Decimal(UInt64.random(in: 0...UInt64.max, using: &g)) * 10 + Decimal(Int.random(in: 0...9, using: &g))
                : Decimal(UInt64.random(in: 0..<(digits >= 19 ? UInt64.max : [UInt64](repeating: 10, count: digits).reduce(1, *)), using: &g))
            let sign: FloatingPointSign = Bool.random(using: &g) ? .minus : .plus
            out.append(Decimal(sign: sign, exponent: Int.random(in: -20...3, using: &g), significand: significand))
        }
        return out
    }

    @Test func fastPathsMatchFoundation() {
        var exactCount = 0
        for v in Self.values() {
            if DecimalText.exact(v) != nil { exactCount += 1 }
            #expect(DecimalText.rawExact(v) == DecimalText.foundationExact(v), "\(v)")
            #expect(DecimalText.significantScale(v) == DecimalText.foundationSignificantScale(v), "\(v)")
            #expect(DecimalText.canonical(v) == v.description, "\(v)")
            for scale in [0, 2, 4] {
                #expect(DecimalText.roundHalfUp(v, scale: scale) == DecimalText.foundationRoundHalfUp(v, scale: scale), "\(v) \(scale)")
                #expect(DecimalText.format(v, scale: scale) == DecimalText.foundationFormat(v, scale: scale), "\(v) \(scale)")
            }
            let hundredths = DecimalText.exactHundredths(v)
            if DecimalText.foundationSignificantScale(v) <= 2, v.magnitude < Decimal(Int64.max) / 100 {
                #expect(hundredths.map(DecimalText.fromHundredths) == v, "\(v)")
            } else {
                #expect(hundredths == nil, "\(v)")
            }
        }
        // The significand is read from the value's bytes on this platform, not through
        // NSDecimalNumber (the comparison above covers that reading).
        #expect(DecimalText.rawLayoutKnown)
        // Most values take the fast path, some do not: both are covered.
        #expect(exactCount > 10_000 && exactCount < 20_000)
    }

    /// A decimal written into its bytes is the value Foundation's initializers make, byte for
    /// byte (trailing zeros in the exponent, the fewest words, the flags), so equality, hashing
    /// and `description` cannot tell them apart.
    @Test func writtenDecimalsAreFoundations() {
        var g = SeededGenerator(seed: 1203)
        var cases: [(Bool, UInt64, Int)] = [(false, 0, 0), (true, 0, 5), (false, 10, 0), (false, 1_000_000, 2), (true, UInt64.max, 0), (false, 10_000_000_000_000_000_000, 100)]
        for _ in 0..<20_000 {
            let digits = Int.random(in: 0...19, using: &g)
            var n = UInt64.random(in: 0...UInt64.max, using: &g) % [UInt64](repeating: 10, count: digits).reduce(1, *)
            // A quarter with trailing zeros, which move into the exponent.
            if Int.random(in: 0...3, using: &g) == 0, n < UInt64.max / 1000 { n *= [10, 100, 1000][Int.random(in: 0...2, using: &g)] }
            cases.append((Bool.random(using: &g), n, Int.random(in: 0...40, using: &g)))
        }
        for (negative, n, scale) in cases {
            let written = DecimalText.rawDecimal(negative: negative, n, scale: scale)
            let made = DecimalText.foundationDecimal(negative: negative, n, scale: scale)
            #expect(DecimalText.sameBytes(written, made), "\(negative) \(n) \(scale)")
            #expect(written == made && written.description == made.description && written.hashValue == made.hashValue, "\(negative) \(n) \(scale)")
        }
        #expect(DecimalText.decimal(negative: false, 750, scale: 2) == Decimal(string: "7.5"))
    }

    @Test func amountsMatchFoundation() {
        var g = SeededGenerator(seed: 7)
        let rates = Self.values().prefix(2_000)
        for rate in rates {
            let cents = Int64.random(in: -240_000...240_000, using: &g)
            let hours = DecimalText.fromHundredths(cents)
            let want = DecimalText.foundationRoundHalfUp(hours * rate, scale: 2)
            if let rateExact = DecimalText.exact(rate), let got = DecimalText.product(hundredths: cents, rateExact, scale: 2) {
                #expect(got == want, "\(hours) x \(rate)")
            }
        }
        #expect(DecimalText.product(hundredths: 750, DecimalText.exact(Decimal(string: "123.455")!)!, scale: 2) == Decimal(string: "925.91"))
        #expect(DecimalText.product(hundredths: -750, DecimalText.exact(Decimal(string: "0.001")!)!, scale: 2) == Decimal(string: "-0.01"))
    }

    @Test func hundredthsText() {
        #expect(DecimalText.format(hundredths: -1250) == "-12.50")
        #expect(DecimalText.format(hundredths: 5) == "0.05")
        #expect(DecimalText.format(hundredths: 0) == "0.00")
        #expect(DecimalText.format(hundredths: Int64.min) == "-92233720368547758.08")
        // Exact up to two decimals, truncated toward zero past them.
        #expect(DecimalText.hundredths(Decimal(string: "7.25")!) == 725)
        #expect(DecimalText.hundredths(Decimal(string: "7.129")!) == 712)
        #expect(DecimalText.hundredths(Decimal(string: "-7.129")!) == -712)
    }

    /// `parseExact` reads what `parse` reads, to the same value, or declines (more than 18
    /// digits); `ExactSum` totals what `Decimal` addition totals, through overflow of its integer.
    @Test func exactParsingAndSumsMatchFoundation() {
        var g = SeededGenerator(seed: 1129)
        var texts = ["0", "-0", "0.00", "7.50", "-7.50", "24", "8.125", "0.0000001", "123456789012345678", "1234567890123456789",
                     "9223372036854.775807", "-9223372036854.775808", "", "-", ".5", "5.", "1.2.3", "+1", "1e3", " 1", "١٢"]
        for _ in 0..<5_000 {
            let whole = String(UInt64.random(in: 0...UInt64.max, using: &g) % [10, 1_000, 1_000_000_000_000, UInt64.max][Int.random(in: 0...3, using: &g)])
            let fraction = String(repeating: "0", count: Int.random(in: 0...2, using: &g)) + String(Int.random(in: 0...999_999, using: &g))
            let text = (Bool.random(using: &g) ? "-" : "") + whole + (Bool.random(using: &g) ? "." + fraction : "")
            texts.append(text)
        }
        var sum = ExactSum()
        // The same terms added as `Decimal`s (the exact ones find their way to the integer).
        var sumOfDecimals = ExactSum()
        var want: Decimal = 0
        var exact = 0
        for t in texts {
            let parsed = DecimalText.parse(t)
            if let x = DecimalText.parseExact(Substring(t)) {
                exact += 1
                let value = Decimal(sign: x.negative ? .minus : .plus, exponent: -x.scale, significand: Decimal(x.magnitude))
                #expect(parsed == value, "\(t)")
                #expect(DecimalText.exact(value) == x, "\(t)")
                sum.add(x)
                sumOfDecimals.add(value)
                want += value
            } else if let parsed {
                #expect(t.filter(\.isNumber).count > 18, "\(t)")
                sum.add(parsed)
                sumOfDecimals.add(parsed)
                want += parsed
            }
            #expect(sum.total == want, "after \(t)")
            #expect(sumOfDecimals.total == want, "after \(t)")
        }
        // Both paths are taken (a quarter of the whole parts have up to 20 digits).
        #expect(exact > 3_000 && exact < texts.count - 500)
        // Terms that overflow the integer: the total stays exact.
        var big = ExactSum()
        for _ in 0..<3 { big.add(DecimalText.parseExact("9000000000000.5")!) }
        #expect(big.total == Decimal(string: "27000000000001.5")!)
    }

    /// Values of more than 18 digits are read exactly or not at all: up to 38 significant digits
    /// (leading and trailing zeros are not), never rounded the way `Decimal(string:)` rounds.
    @Test func longValuesAreExactOrRefused() {
        let thirtyEight = "1234567890123456789.0123456789012345678"
        #expect(DecimalText.parse(thirtyEight) == Decimal(string: thirtyEight))
        #expect(DecimalText.parse("-" + thirtyEight) == Decimal(string: "-" + thirtyEight))
        #expect(DecimalText.parse(String(repeating: "0", count: 100_000) + "8.00") == 8)
        #expect(DecimalText.parse("8." + String(repeating: "0", count: 100_000)) == 8)
        #expect(DecimalText.parse("0." + String(repeating: "0", count: 30) + "1") == Decimal(sign: .plus, exponent: -31, significand: 1))
        #expect(DecimalText.parse("1" + String(repeating: "0", count: 100) + ".0") == Decimal(sign: .plus, exponent: 100, significand: 1))
        #expect(DecimalText.parse(String(repeating: "0", count: 40)) == 0)
        // Decimal(string:) gives 8 for the first: an entry's hours would have posted as 8.00.
        #expect(DecimalText.parse("8." + String(repeating: "0", count: 40) + "1") == nil)
        #expect(DecimalText.parse(String(repeating: "9", count: 39)) == nil)
        #expect(DecimalText.parse("0." + String(repeating: "0", count: 200) + "1") == nil)
        #expect(DecimalText.parse("1" + String(repeating: "0", count: 200)) == nil)
    }
}
