import DroplineTesting
@testable import DroplineXML
import Testing

/// `XMLStreamReader.spelled` tells a NUL-terminated libxml2 name from a name's bytes exactly as
/// comparing the two strings does, on both sides of the length where it switches to `strncmp`:
/// equal, one a prefix of the other, a byte changed anywhere.
struct SpelledNameTests {
    @Test func spelledIsStringEquality() {
        var g = SeededGenerator(seed: 1203)
        let alphabet = Array("urn:example:psa:time:2/xyzABC-.".utf8)
        var checked = 0, equal = 0
        for _ in 0..<20_000 {
            let name = (0..<Int.random(in: 0...40, using: &g)).map { _ in alphabet.randomElement(using: &g)! }
            var other = name
            switch Int.random(in: 0...4, using: &g) {
            case 0: break
            case 1: if !other.isEmpty { other.removeLast(Int.random(in: 1...other.count, using: &g)) }
            case 2: other += (0..<Int.random(in: 1...3, using: &g)).map { _ in alphabet.randomElement(using: &g)! }
            case 3: if !other.isEmpty { other[Int.random(in: 0..<other.count, using: &g)] = alphabet.randomElement(using: &g)! }
            default: other = (0..<Int.random(in: 0...40, using: &g)).map { _ in alphabet.randomElement(using: &g)! }
            }
            let spelled = (other + [0]).withUnsafeBufferPointer { p in name.withUnsafeBufferPointer { XMLStreamReader.spelled(p.baseAddress!, $0) } }
            #expect(spelled == (name == other), "\(String(decoding: name, as: UTF8.self)) against \(String(decoding: other, as: UTF8.self))")
            checked += 1
            if name == other { equal += 1 }
        }
        // Both answers, at both lengths, are covered in number.
        #expect(equal > 2_000 && equal < checked - 2_000)
    }
}
