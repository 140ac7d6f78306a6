import DroplineCore
import Testing

struct ByteTextTests {
    /// `String(utf8Bytes:)` is `String(decoding:as:)` for every length around the small-string
    /// limit: ASCII, non-ASCII and broken UTF-8, the same characters, the same bytes and the
    /// same representation (a string made in place that a native one would not equal bit for bit
    /// would hash, compare or free differently).
    @Test func bytesMakeTheStringDecodingMakes() {
        var seed: UInt64 = 0xB17E5
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        let alphabets: [[UInt8]] = [
            Array("0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ abcxyz.:".utf8),
            Array("é".utf8) + Array("a1".utf8),
            [0x7F, 0x00, 0x41, 0x80, 0xFF, 0xC3],
        ]
        var made = 0
        var heap = 0
        var small = 0
        var smallSeen = 0
        var largeSeen = 0
        for length in 0...24 {
            for alphabet in alphabets {
                for _ in 0..<60 {
                    let bytes = (0..<length).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
                    let expected = String(decoding: bytes, as: UTF8.self)
                    let s = bytes.withUnsafeBufferPointer { String(utf8Bytes: $0) }
                    #expect(s == expected)
                    #expect(Array(s.utf8) == Array(expected.utf8))
                    #expect(s.count == expected.count)
                    #expect(s.hashValue == expected.hashValue)
                    let a = unsafeBitCast(s, to: (UInt64, UInt64).self)
                    let b = unsafeBitCast(expected, to: (UInt64, UInt64).self)
                    // A small string (bit 61 of its second word) is its bits; heap strings (broken
                    // UTF-8, repaired) are equal, not the same object.
                    if b.1 & (1 << 61) != 0 { #expect(a == b, "\(bytes)") } else { heap += 1 }
                    if bytes.count <= 15 && bytes.allSatisfy({ $0 < 0x80 }) { small += 1 }
                    #expect(s + "x" == expected + "x")
                    // `smallUTF8` gives a small string's bytes, zero-padded, and nothing of any other.
                    if let small = expected.smallUTF8 {
                        let padded = withUnsafeBytes(of: small.words) { Array($0) }
                        #expect(Array(padded.prefix(small.count)) == Array(expected.utf8))
                        #expect(padded.dropFirst(small.count).allSatisfy { $0 == 0 })
                        smallSeen += 1
                    } else {
                        #expect(b.1 & (1 << 61) == 0)
                        largeSeen += 1
                    }
                    #expect((s.smallUTF8 == nil) == (expected.smallUTF8 == nil))
                    made += 1
                }
            }
        }
        #expect(made == 25 * 3 * 60)
        #expect(smallSeen > 0 && largeSeen > 0)
        // Both forms were met: ASCII of every small length (made in place), and heap strings.
        #expect(small >= 16 * 60 && heap > 0)
    }

    /// `utf8Precedes` orders text as its UTF-8 bytes do (SQLite's order), small strings by their
    /// words: prefixes, trailing zero bytes, high bytes, every length around 15.
    @Test func utf8PrecedesIsTheBytesOrder() {
        var seed: UInt64 = 0x50127
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        let alphabet: [UInt8] = Array("019AZaz-".utf8) + [0x00, 0x7F]
        var texts = ["", "\u{0}", "a", "a\u{0}", "a\u{0}\u{0}", "é", "e\u{301}", "10000000", "9999999", "123456789012345", "1234567890123456", "\u{7F}", "\u{80}"]
        for _ in 0..<300 {
            let length = Int(next() % 19)
            let bytes = (0..<length).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
            texts.append(String(decoding: bytes, as: UTF8.self))
            if let s = texts.last, !s.isEmpty, next() % 3 == 0 { texts.append(String(s.dropLast())) }
        }
        var before = 0
        for a in texts {
            for b in texts {
                let expected = Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
                #expect(a.utf8Precedes(b) == expected, "\(Array(a.utf8)) \(Array(b.utf8))")
                if expected { before += 1 }
            }
        }
        #expect(before > 1000)
    }
}
