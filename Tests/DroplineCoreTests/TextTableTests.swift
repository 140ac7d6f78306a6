import DroplineCore
import DroplineTesting
import Testing

struct TextTableTests {
    /// A table answers every key as the dictionary it was made from: two thousand codes (so that
    /// slots collide and are probed), keys a byte apart, NUL bytes, every length around the
    /// small-string limit, non-ASCII keys, absent keys of each kind.
    @Test func aTableAnswersAsItsDictionary() {
        var g = SeededGenerator(seed: 2026_12_03)
        func next() -> UInt64 { g.next() >> 33 }
        let alphabet = Array("0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ_".utf8) + [0]
        var dictionary: [String: Int] = [:]
        for i in 0..<2_000 { dictionary["PRJ-\(100_000 + i)"] = i }
        for length in 0...20 {
            for _ in 0..<40 {
                let bytes = (0..<length).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
                dictionary[String(decoding: bytes, as: UTF8.self)] = Int(next() % 1_000)
            }
        }
        for key in ["A", "A\u{0}", "\u{0}", "AB", "BA", "Ørsted", "café"] { dictionary[key] = key.utf8.count }
        let table = TextTable(dictionary)
        #expect(table.count == dictionary.count)
        var asked = Array(dictionary.keys)
        for i in 0..<2_000 { asked.append("PRJ-\(102_000 + i)") }
        asked += ["", "A\u{0}\u{0}", "B", "PRJ-1000000", "PRJ-099999", "Orsted", "cafe", "cafe\u{301}", "ÉTÉ", String(repeating: "Z", count: 15), String(repeating: "Z", count: 16)]
        for _ in 0..<2_000 {
            let bytes = (0..<Int(next() % 18)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
            asked.append(String(decoding: bytes, as: UTF8.self))
        }
        var found = 0
        for key in asked {
            #expect(table[key] == dictionary[key], "\(Array(key.utf8))")
            if dictionary[key] != nil { found += 1 }
        }
        #expect(found >= dictionary.count)
        #expect(found < asked.count)
        // "café" written with a combining accent is the precomposed key to a dictionary.
        #expect(table["cafe\u{301}"] == 4 + 1)
    }

    /// A short ASCII key the table lacks is asked of the dictionary when a key of it is not short
    /// ASCII: U+212A KELVIN SIGN equals "K" (canonical equivalence), as its dictionary says.
    @Test func aMissIsAskedOfTheDictionaryWhenOtherKeysExist() {
        let dictionary: [String: Int] = ["\u{212A}": 1, "J": 2]
        let table = TextTable(dictionary)
        #expect(dictionary["K"] == 1)
        #expect(table["K"] == 1)
        #expect(table["J"] == 2)
        #expect(table["L"] == nil)
        #expect(TextTable([String: Int]())["K"] == nil)
    }
}
