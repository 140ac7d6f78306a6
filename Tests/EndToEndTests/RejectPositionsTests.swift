@testable import DroplineRuntime
import Testing

/// Rejected-record positions come back in order whether they stayed in memory or went to the
/// temporary file (a limit of 2 pairs forces several spills).
struct RejectPositionsTests {
    @Test(arguments: [2, 3, 1 << 15])
    func positionsComeBackInOrder(limit: Int) throws {
        let list = RejectPositions(limit: limit)
        var pairs: [(Int32, Int32)] = []
        for i: Int32 in 0..<11 { pairs.append((i / 3, i % 3 == 0 ? -1 : i % 3)) }
        for (u, c) in pairs { try list.append(u, c) }
        #expect(list.count == 11)
        #expect(list.last.map { [$0.unit, $0.child] } == [3, 1])
        let cursor = try list.cursor()
        var back: [[Int32]] = []
        while let p = cursor.current {
            back.append([p.unit, p.child])
            try cursor.advance()
        }
        #expect(back == pairs.map { [$0.0, $0.1] })
    }

    @Test func emptyListHasNoCurrent() throws {
        #expect(try RejectPositions(limit: 2).cursor().current == nil)
    }
}
