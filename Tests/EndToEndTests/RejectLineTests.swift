import DroplineCore
@testable import DroplineRuntime
import DroplineTesting
import Foundation
import Testing

/// Reject lines are written by hand; they must be the bytes `JSONEncoder` (sorted keys, slashes
/// unescaped) writes for the same line, whatever the text holds.
struct RejectLineTests {
    static let pieces: [String] = (0..<32).map { String(UnicodeScalar(UInt8($0))) } + ["\"", "\\", "/", "\u{7f}", "é", "Ødegård", "\u{2028}", "\u{2029}", "😀", "\u{feff}", "a", "TE-00000001", " ", "<&>", "'"]

    func text(_ g: inout SeededGenerator) -> String {
        (0..<Int.random(in: 0...6, using: &g)).map { _ in Self.pieces.randomElement(using: &g)! }.joined()
    }

    func maybe(_ g: inout SeededGenerator) -> String? { Bool.random(using: &g) ? text(&g) : nil }

    @Test func handWrittenLinesEqualTheEncoders() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var g = SeededGenerator(seed: 4242)
        let codes = ReasonCode.allCases
        for _ in 0..<3000 {
            let issues = (0..<Int.random(in: 1...3, using: &g)).map { _ in
                RecordIssue(code: codes.randomElement(using: &g)!, field: maybe(&g), expected: maybe(&g), actual: maybe(&g), hint: maybe(&g))
            }
            let r = Rejection(recordType: text(&g), key: maybe(&g), line: Int.random(in: 0...10_000_000, using: &g), issues: issues)
            let line = RejectWriter.Line(r)
            let expected = try encoder.encode(line)
            // Appended after what the buffer holds, as the writer appends line after line.
            var out = Array("before\n".utf8)
            line.appendJSON(to: &out)
            #expect(out == Array("before\n".utf8) + [UInt8](expected), "\(String(decoding: expected, as: UTF8.self))")
        }
    }
}
