import DroplineCore
import DroplineExtract
import Testing

/// Casting a value from its bytes gives exactly what casting its text gives, value or fault, for
/// every field type, on seeded values: dates in and out of the calendar, decimals with signs,
/// separators, blanks, too many digits, other scripts' digits, timestamps and their parts, and
/// empty values.
extension FieldCasterTests {
    @Test func bytesCastAsTheirText() {
        let types: [FieldType] = [
            .date(compact: false, openEnd: nil), .date(compact: true, openEnd: nil), .date(compact: false, openEnd: "9999-12-31"),
            .decimal(separator: UInt8(ascii: "."), scale: nil, signed: true), .decimal(separator: UInt8(ascii: "."), scale: 2, signed: false),
            .decimal(separator: UInt8(ascii: ","), scale: nil, signed: true), .integer, .string, .timestamp, .boolean(trueToken: "Y", falseToken: "N"),
        ]
        let pieces = ["2026-11-27", "2024-02-29", "2026-02-29", "0000-01-01", "9999-12-31", "20261127", "7.50", "8", "-0.25", "1234567890123456789",
                      "12345678901234567.5", "0.125", "7,5", " ", "\t", "\n", "-", ".", ",", "+", "e3", "\u{661}", "x", "Y", "", "0", "00",
                      "2026-11-27T17:00:00Z", "T17:00:00", "T23:59:60", "Z", "+01:00", "-14:30", ":00", "\u{301}"]
        var seed: UInt64 = 0xCA57
        var values: [String] = pieces
        for _ in 0..<3_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var v = ""
            for k in 0..<Int(seed >> 62) + 1 { v += pieces[Int((seed >> UInt64(10 * k + 3)) & 0x3ff) % pieces.count] }
            values.append(v)
        }
        var decided = 0
        for type in types {
            for emptyIsNull in [false, true] {
                for value in values {
                    var text = value
                    let fromText = FieldCaster.cast(text, name: "f", type: type, emptyIsNull: emptyIsNull)
                    let fromBytes = text.withUTF8 { FieldCaster.cast(bytes: $0, name: "f", type: type, emptyIsNull: emptyIsNull) }
                    #expect(fromBytes == fromText, "\(type) \(emptyIsNull) \(value.unicodeScalars.map(\.value))")
                    if case .success(let v) = fromText, !v.isNull { decided += 1 }
                }
                #expect(FieldCaster.cast(bytes: nil, name: "f", type: type, emptyIsNull: emptyIsNull) == FieldCaster.cast(nil, name: "f", type: type, emptyIsNull: emptyIsNull))
            }
        }
        // Not only faults: many values cast.
        #expect(decided > 5_000, "\(decided)")
    }
}
