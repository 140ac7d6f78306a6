import DroplineCore
import DroplineTesting
import Foundation
import Testing

struct DecimalTextTests {
    @Test(arguments: ["7.50", "0", "-3.25", "40", "145.00", "0.01"])
    func parsesDecimalText(_ text: String) throws {
        let d = try #require(DecimalText.parse(text))
        #expect(DecimalText.canonical(d) == DecimalText.canonical(Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))!))
    }

    /// Canonical text from a count of hundredths is the canonical text of that decimal.
    @Test func canonicalOfHundredthsIsCanonicalOfTheDecimal() {
        var values: [Int64] = Array(-2_500...2_500) + [Int64.max, Int64.min + 1, 100_000_000_000, 123_456_789_050]
        var seed: UInt64 = 0x5eed
        for _ in 0..<2_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Int64(bitPattern: seed) >> Int64(seed % 60))
        }
        for n in values {
            #expect(DecimalText.canonical(hundredths: n) == DecimalText.canonical(DecimalText.fromHundredths(n)), "\(n)")
        }
    }

    @Test(arguments: ["7,50", "", "1e5", " 7.5", "7.", ".5", "--1", "1.2.3", "+1", "7.5x"])
    func refusesNonDecimalText(_ text: String) {
        #expect(DecimalText.parse(text) == nil)
    }

    @Test func parsesDecimalComma() throws {
        #expect(DecimalText.parse("40,00", separator: UInt8(ascii: ",")) == Decimal(40))
        #expect(DecimalText.parse("37,5", separator: UInt8(ascii: ",")) == Decimal(string: "37.5"))
        #expect(DecimalText.parse("40.00", separator: UInt8(ascii: ",")) == nil)
    }

    @Test func roundsHalfUpAwayFromZero() {
        #expect(DecimalText.format(Decimal(string: "598.125")!, scale: 2) == "598.13")
        #expect(DecimalText.format(Decimal(string: "-0.005")!, scale: 2) == "-0.01")
        #expect(DecimalText.format(Decimal(string: "0.38125")!, scale: 4) == "0.3813")
        #expect(DecimalText.format(Decimal(string: "-0.001")!, scale: 2) == "0.00")
        #expect(DecimalText.format(Decimal(40), scale: 2) == "40.00")
    }

    @Test func significantScaleIgnoresTrailingZeros() {
        #expect(DecimalText.significantScale(DecimalText.parse("7.500")!) == 1)
        #expect(DecimalText.significantScale(DecimalText.parse("1.125")!) == 3)
        #expect(DecimalText.significantScale(DecimalText.parse("25.00")!) == 0)
    }

    @Test func sumsExactly() {
        let values = ["8.00", "7.25", "6.00", "2.00", "4.00", "6.50", "8.00", "8.00"].map { DecimalText.parse($0)! }
        #expect(values.reduce(0, +) == DecimalText.parse("49.75")!)
    }
}

struct BusinessDateTests {
    @Test func parsesAndRejectsCalendarDates() {
        #expect(BusinessDate(iso: "2026-11-23")?.iso == "2026-11-23")
        #expect(BusinessDate(iso: "2026-11-31") == nil)
        #expect(BusinessDate(iso: "2026-02-29") == nil)
        #expect(BusinessDate(iso: "2028-02-29") != nil)
        #expect(BusinessDate(compact: "20261125")?.iso == "2026-11-25")
        #expect(BusinessDate(compact: "20260230") == nil)
        #expect(BusinessDate(iso: "2026-1-01") == nil)
    }

    @Test func weekdaysAndArithmetic() throws {
        let monday = try #require(BusinessDate(iso: "2026-11-23"))
        #expect(monday.isoWeekday == 1)
        #expect(monday.adding(days: 6).iso == "2026-11-29")
        #expect(monday.adding(days: 6).isoWeekday == 7)
        #expect(BusinessDate(iso: "2026-11-27")!.adding(days: 5).iso == "2026-12-02")
        #expect(BusinessDate(iso: "1970-01-01")!.dayNumber == 0)
        #expect(BusinessDate(dayNumber: BusinessDate(iso: "2000-03-01")!.dayNumber) == BusinessDate(iso: "2000-03-01"))
    }
}

struct GlobTests {
    @Test func matchesFileNames() {
        #expect(Glob.matches("HR_WORKERS_*.xml", "HR_WORKERS_HRIS01_20261127_001.xml"))
        #expect(!Glob.matches("HR_WORKERS_*.xml", "HR_WORKERS_HRIS01_20261127_001.xml.done"))
        #expect(Glob.matches("A?C", "ABC"))
        #expect(!Glob.matches("A?C", "AC"))
    }

    @Test func detectsOverlappingPatterns() {
        #expect(Glob.overlap("HR_*.xml", "*_WORKERS_*.xml"))
        #expect(Glob.overlap("*.xml", "PSA_*"))
        #expect(!Glob.overlap("HR_WORKERS_*.xml", "PSA_PROJECTS_*.xml"))
        #expect(!Glob.overlap("ERP_RATES_*.xml", "ERP_PERIODS_*.xml"))
        #expect(Glob.overlap("ERP_*_ERP01_*.xml", "ERP_RATES_*.xml"))
    }

    @Test func suggestsCloseKeys() {
        #expect(Suggestion.closest(to: "settle_second", in: ["pattern", "settle_seconds", "done_marker"]) == "settle_seconds")
        #expect(Suggestion.closest(to: "zzz", in: ["pattern"]) == nil)
    }
}

/// Dates and zero-padded numbers are written byte by byte; they must read as the plain formulas.
struct DateTextTests {
    @Test func isoAndCompactRoundTripEveryFewDaysOfTheRange() throws {
        var day = BusinessDate(iso: "0001-01-01")!.dayNumber
        let last = BusinessDate.openEnd.dayNumber
        while day <= last {
            let d = BusinessDate(dayNumber: day)
            let plain = String(format: "%04d-%02d-%02d", d.year, d.month, d.day)
            #expect(d.iso == plain)
            #expect(d.compact == plain.replacingOccurrences(of: "-", with: ""))
            #expect(BusinessDate(iso: d.iso) == d)
            #expect(BusinessDate(compact: Substring(d.compact)) == d)
            day += 37
        }
        for bad in ["2026-02-29", "2026-13-01", "2026-1-01", "2026-01-001", "2026/01/01", "２０２６-01-01", "", "2026-01-0x"] {
            #expect(BusinessDate(iso: bad) == nil, "\(bad)")
        }
    }

    /// Dates read from text, from its bytes (`init(isoBytes:)`, how exports' dates are cast) and
    /// from the compact form are what a reading the long way gives (ten ASCII bytes, dashes at 4
    /// and 7, digits elsewhere, a day of the month in years 1-9999), valid or not: every 37th day
    /// of the range, the edges of months and leap years, and 20,000 seeded strings of digits,
    /// dashes and other bytes.
    @Test func datesReadWhatTheLongWayReads() {
        func longWay(_ text: String) -> [Int]? {
            let b = Array(text.utf8)
            guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
                [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[$0]) }),
                let y = Int(String(decoding: b[0..<4], as: UTF8.self)), let m = Int(String(decoding: b[5..<7], as: UTF8.self)),
                let d = Int(String(decoding: b[8..<10], as: UTF8.self)), (1...9999).contains(y), (1...12).contains(m)
            else { return nil }
            let leap = y % 400 == 0 || (y % 4 == 0 && y % 100 != 0)
            let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            return (1...lengths[m - 1]).contains(d) ? [y, m, d] : nil
        }
        func fields(_ date: BusinessDate?) -> [Int]? { date.map { [$0.year, $0.month, $0.day] } }
        var texts = ["2026-02-29", "2028-02-29", "1900-02-29", "2000-02-29", "2026-04-31", "2026-04-30", "0000-01-01", "0001-01-01", "9999-12-31",
                     "2026-00-10", "2026-13-01", "2026-12-00", "2026-12-32", "2026-1-01", "2026-01-001", "2026/01/01", "", "2026-01-0x", "2026-01-01 ",
                     " 2026-01-01", "2026-01-0:", "2026-01-0/", "２０２６-01-01", "+026-01-01", "2026-+1-01"]
        var day = BusinessDate(iso: "0001-01-01")!.dayNumber
        while day <= BusinessDate.openEnd.dayNumber {
            texts.append(BusinessDate(dayNumber: day).iso)
            day += 37
        }
        var g = SeededGenerator(seed: 1203)
        let alphabet = Array("0123456789-/:x +".utf8) + [0xC3, 0x00]
        for _ in 0..<20_000 {
            var t = Array(BusinessDate(dayNumber: Int.random(in: 0...40_000, using: &g)).iso.utf8)
            for _ in 0..<Int.random(in: 0...2, using: &g) { t[Int.random(in: 0..<10, using: &g)] = alphabet.randomElement(using: &g)! }
            texts.append(String(decoding: t, as: UTF8.self))
        }
        var valid = 0
        for t in texts {
            let expected = longWay(t)
            #expect(fields(Array(t.utf8).withUnsafeBufferPointer { BusinessDate(isoBytes: $0) }) == expected, "\(t)")
            #expect(fields(BusinessDate(iso: t)) == expected, "\(t)")
            // The compact form of the same text: its dashes taken out where they should be.
            let b = Array(t.utf8)
            if b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") {
                let compact = String(decoding: b[0..<4] + b[5..<7] + b[8..<10], as: UTF8.self)
                #expect(fields(BusinessDate(compact: Substring(compact))) == expected, "\(compact)")
            }
            if expected != nil { valid += 1 }
        }
        // Both outcomes are covered in number.
        #expect(valid > 5_000 && valid < texts.count - 5_000)
    }

    /// A date keeps its day number and its year, month and day side by side; adding days takes a
    /// short way within the month. Both must agree with the calendar arithmetic everywhere.
    @Test func addingDaysAgreesWithTheCalendarEverywhere() throws {
        let calendar = Calendar(identifier: .gregorian)
        var utc = calendar
        utc.timeZone = TimeZone(identifier: "UTC")!
        var day = BusinessDate(iso: "1600-01-01")!.dayNumber
        while day <= BusinessDate(iso: "2400-12-31")!.dayNumber {
            let d = BusinessDate(dayNumber: day)
            for n in [-400, -31, -29, -28, -27, -7, -6, -1, 0, 1, 2, 6, 7, 13, 27, 28, 29, 30, 31, 59, 366] {
                let moved = d.adding(days: n)
                let expected = utc.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(day + n) * 86_400))
                #expect([moved.year, moved.month, moved.day] == [expected.year, expected.month, expected.day], "\(d.iso) + \(n)")
                #expect(moved.dayNumber == day + n)
                #expect(BusinessDate(iso: moved.iso) == moved)
                #expect((moved < d) == (n < 0) && (moved == d) == (n == 0))
            }
            day += 13
        }
        // Beyond years 1-9999 a date stops at the range's ends instead of trapping or wrapping.
        let today = try #require(BusinessDate(iso: "2026-11-30"))
        #expect(today.adding(days: Int.max) == BusinessDate.openEnd)
        #expect(today.adding(days: 5_000_000).iso == "9999-12-31")
        #expect(today.adding(days: Int.min).iso == "0001-01-01")
        #expect(BusinessDate(dayNumber: -1_000_000_000).iso == "0001-01-01")
    }

    @Test func zeroPadMatchesPrintf() {
        for (v, w) in [(0, 1), (0, 4), (7, 2), (12, 2), (123, 2), (2026, 4), (99_999, 3), (Int.max, 5), (5, 20)] {
            #expect(zeroPad(v, w) == String(format: "%0\(w)ld", v), "\(v) \(w)")
        }
    }
}

/// A record's fields and control sums: the small inline forms behave like the dictionaries they
/// replaced.
struct RecordStorageTests {
    /// A name is found whatever its string's storage: long names live in objects of their own,
    /// so equal names need not have equal words, and a name made from a slice is found too.
    @Test func fieldMapFindsNamesWhateverTheirStorage() {
        let long = String(repeating: "field_name_", count: 3)
        var m = FieldMap()
        m.appendNew("short", .integer(1))
        m.appendNew(long, .integer(2))
        let otherLong = String(repeating: "field_", count: 1) + "name_" + String(repeating: "field_name_", count: 2)
        #expect(otherLong == long)
        #expect(m[otherLong] == .integer(2))
        #expect(m[String("a short one"[...].dropFirst(2).prefix(5))] == .integer(1))
        #expect(m[String(long.dropLast())] == nil && m["shor"] == nil)
        // Each name at its own place, whichever entry holds it (the same long string object too).
        var many = FieldMap()
        for i in 0..<12 { many.appendNew("f\(i)", .integer(Int64(i))) }
        many.appendNew(long, .integer(12))
        #expect((0..<12).allSatisfy { many["f\($0)"] == .integer(Int64($0)) } && many[long] == .integer(12) && many["f12"] == nil)
    }

    @Test func fieldMapActsAsADictionary() {
        var m: FieldMap = ["b": .string("2"), "a": .integer(1)]
        #expect(m["a"] == .integer(1) && m["b"] == .string("2") && m["c"] == nil)
        m["a"] = .string("one")
        m["c"] = .null
        #expect(m.count == 3 && m["a"] == .string("one") && m["c"] == .null)
        #expect(m.removeValue(forKey: "b") == .string("2") && m.removeValue(forKey: "b") == nil)
        m["c"] = nil
        #expect(m.keys == ["a"])
        // Equal whatever the order the names were set in.
        var x = FieldMap(), y = FieldMap()
        for (k, v) in [("p", Value.integer(1)), ("q", .integer(2)), ("r", .null)] { x[k] = v }
        for (k, v) in [("r", Value.null), ("p", .integer(1)), ("q", .integer(2))] { y[k] = v }
        #expect(x == y)
        y["q"] = .integer(3)
        #expect(x != y)
        #expect(Dictionary(uniqueKeysWithValues: x.map { ($0.key, $0.value) }) == ["p": .integer(1), "q": .integer(2), "r": .null])
        var r = Record(type: "t", line: 1, ordinal: 1)
        r["f"] = .string("v")
        #expect(r["f"] == .string("v") && r["missing"] == .null)
        // The in-place readers give what the value's own accessors give.
        let d = BusinessDate(iso: "2026-11-30")!
        let typed: FieldMap = ["s": .string("a long text of more than fifteen bytes"), "n": .null, "i": .integer(7), "d": .date(d), "x": .decimal(7.5, scale: 2)]
        for name in ["s", "n", "i", "d", "x", "absent"] {
            let v = typed[name] ?? .null
            #expect(typed.text(name) == v.text && typed.date(name) == v.date && typed.decimal(name) == v.decimal, "\(name)")
        }
    }

    /// A reader of many records looks for a name where it was in the record before (`place`):
    /// only a guess. Records whose fields come in another order, lack one, have fewer fields
    /// or long names (their words not the same from one string to another) still give each
    /// field's own value, and the place follows the name.
    @Test func aFieldIsFoundWhereverItsPlaceWas() {
        let long = String(repeating: "field_name_", count: 3)
        let first: FieldMap = ["a": .string("1"), "b": .string("2"), "c": .string("3"), long: .string("L")]
        var placeOfB = -1, placeOfA = -1, placeOfLong = -1
        #expect(first.text("b", place: &placeOfB) == "2" && placeOfB == 1)
        #expect(first.text("a", place: &placeOfA) == "1" && placeOfA == 0)
        #expect(first.text(long, place: &placeOfLong) == "L" && placeOfLong == 3)
        // The same order: found at once, the places kept.
        let same: FieldMap = ["a": .string("x"), "b": .string("y"), "c": .string("z"), long: .string("M")]
        #expect(same.text("b", place: &placeOfB) == "y" && same.text("a", place: &placeOfA) == "x" && placeOfB == 1 && placeOfA == 0)
        // Another order: "a" is not where it was; a long name made anew is still found.
        let otherLong = String(repeating: "field_", count: 1) + "name_" + String(repeating: "field_name_", count: 2)
        let swapped: FieldMap = ["b": .string("q"), "a": .string("p"), otherLong: .string("N")]
        #expect(swapped.text("a", place: &placeOfA) == "p" && placeOfA == 1)
        #expect(swapped.text("b", place: &placeOfB) == "q" && placeOfB == 0)
        #expect(swapped.text(long, place: &placeOfLong) == "N" && placeOfLong == 2)
        // Missing, or a place past the end: nil, the place left as it was.
        let short: FieldMap = ["c": .date(BusinessDate(iso: "2026-12-02")!)]
        #expect(short.text("a", place: &placeOfA) == nil && placeOfA == 1)
        #expect(short.date("c", place: &placeOfLong) == BusinessDate(iso: "2026-12-02") && placeOfLong == 0)
        var placeOfD = 7
        #expect(first.decimal("d", place: &placeOfD) == nil && placeOfD == 7)
    }

    @Test func controlSumsKeepEveryCheck() {
        var s = ControlSums()
        #expect(s.isEmpty && Array(s).isEmpty)
        s.append(2, 7.5)
        s.append(0, 1)
        s.append(5, -2)
        #expect(s.map(\.index) == [2, 0, 5] && s.map(\.value) == [7.5, 1, -2])
    }
}

struct ElementPositionTests {
    /// A position built and unwound step by step reads like the array of its steps, at every
    /// depth (two steps inline, more in an array of their own).
    @Test func readsAsTheArrayOfItsSteps() {
        var position = ElementPosition()
        var steps: [Int] = []
        var seed: UInt64 = 0x9051
        for _ in 0..<2_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            if seed >> 62 == 0, !steps.isEmpty {
                position.removeLast()
                steps.removeLast()
            } else if steps.count < 6 {
                let step = Int(seed >> 40 % 1_000)
                position.append(step)
                steps.append(step)
            }
            #expect(Array(position) == steps)
            #expect(position.count == steps.count && position.first == steps.first)
            #expect(position == ElementPosition(steps))
            #expect(position.description == steps.description)
        }
        #expect(ElementPosition([1, 2]) != ElementPosition([1, 2, 0]))
        #expect(ElementPosition([4]) != ElementPosition([5]))
    }
}

struct XMLTrimmedTests {
    /// Trimming keeps exactly what lies between the first and last byte that is not XML white
    /// space (space, tab, CR, LF), on seeded strings of white space, other spaces and text.
    @Test func trimsXMLWhiteSpaceOnly() {
        let pieces = [" ", "\t", "\n", "\r", "\r\n", "\u{a0}", "\u{2028}", "\u{85}", "x", "7.50", "é", "2026-11-27", ""]
        var seed: UInt64 = 0x7215
        for _ in 0..<3_000 {
            var text = ""
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            for k in 0..<Int(seed >> 61) + 1 { text += pieces[Int((seed >> UInt64(8 * k)) & 0xff) % pieces.count] }
            let bytes = Array(text.utf8)
            let white: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
            let kept = bytes.drop { white.contains($0) }.reversed().drop { white.contains($0) }.reversed()
            #expect(Array(text.xmlTrimmed.utf8) == Array(kept), "\(bytes)")
        }
    }
}

/// `SHA256Text` against the published test vectors (FIPS 180-2), from text (small, large and
/// non-ASCII strings) and from `Data` (a digest's hex: `AtomicFileTests`, `FileDigest`).
struct SHA256TextTests {
    @Test func givesThePublishedDigests() {
        #expect(SHA256Text.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Text.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(SHA256Text.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256Text.hex(Data(long.utf8)) == SHA256Text.hex(long))
        // A bridged or non-ASCII string is hashed as its UTF-8 bytes.
        let name = "José Müller"
        #expect(SHA256Text.hex(name) == SHA256Text.hex(Data(name.utf8)))
        #expect(SHA256Text.hex(name) != SHA256Text.hex("Jose Muller"))
    }
}
