@testable import DroplineRuntime
import DroplineTesting
import Foundation
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

/// The reject cut reads the original's byte ranges in increasing order through one window.
struct ForwardRangeReaderTests {
    @Test func rangesInOrderComeBackExactlyWhereverTheWindowStands() throws {
        let zone = try TemporaryDropZone()
        let path = zone.root + "/bytes"
        let size = ForwardRangeReader.windowBytes * 3 + 123
        let content = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        try Data(content).write(to: URL(fileURLWithPath: path))
        let reader = try #require(ForwardRangeReader(path: path))
        let w = ForwardRangeReader.windowBytes
        // In one window, across its end, larger than a window, a gap, an empty range, the last byte.
        for (from, to) in [(0, 10), (10, 300), (w - 5, w + 5), (w + 5, 3 * w + 7), (3 * w + 50, 3 * w + 60), (3 * w + 60, 3 * w + 60), (size - 1, size)] {
            #expect(Array(try reader.bytes(from, to)) == Array(content[from..<to]), "\(from)..<\(to)")
        }
        #expect(throws: POSIXError.self) { try reader.bytes(size - 2, size + 1) }
        var tail: [UInt8] = []
        try reader.forEachChunk(from: 100) { tail += $0 }
        #expect(tail == Array(content[100...]))
        #expect(try reader.read(at: size - 1, count: 5) == [content[size - 1]])
        #expect(ForwardRangeReader(path: zone.root + "/missing") == nil)
    }
}
