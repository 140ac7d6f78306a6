import DroplineProfessionalServices
@testable import DroplineRuntime
import Testing

/// Postings keep their number, not their id (v9): the number read from an id must give that id
/// back, and an id Dropline would not make must be refused, not stored as another number.
struct PostingIDTests {
    @Test func numbersGiveTheirIDsBack() throws {
        for entry in ["TE-00000001", "TE-1", "", "TÉ-ü-7", "P-TE-1-001"] {
            for n in Array(0...1_100) + [9_999, 10_000, 123_456_789, 999_999_999_999_999_999] {
                let id = Posting.id(entryID: entry, number: n)
                #expect(try TimePostingStage.number(id, of: entry) == Int64(n), "\(id)")
            }
        }
    }

    @Test(arguments: ["P-TE-1-01", "P-TE-1-0001", "P-TE-1-0999", "P-TE-2-001", "X-TE-1-001", "P_TE-1-001", "P-TE-1_001", "P-TE-1-00a", "P-TE-1--01", "P-TE-1-", "P-TE-1", "", "P-TE-1-1234567890123456789"])
    func idsDroplineWouldNotMakeAreRefused(_ id: String) {
        #expect(throws: (any Error).self, "\(id)") { try TimePostingStage.number(id, of: "TE-1") }
    }

    /// A worker week's key, written byte by byte, is the text it always was.
    @Test func weekKeysAreTheirText() {
        for pernr in ["10000001", "", "1", "Ü-7", String(repeating: "9", count: 40)] {
            for monday in [0, 1, 9, 10, 99, 20_415, 20_416, 99_999, 1_000_000, Int.max, -1, -20_000, Int.min] {
                #expect(TimePostingStage.weekKey(pernr, monday) == "\u{1}\(monday)\u{1}" + pernr, "\(pernr) \(monday)")
            }
        }
    }
}
