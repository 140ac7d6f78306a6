@testable import DroplineRuntime
import DroplineCore
import DroplineLoad
import Foundation
import GRDB
import Testing

/// A labor line (`LaborBody.append`), written in place byte by byte, is the contract's
/// `<Posting .../>` as the string functions would write it: every attribute in order, the entry
/// id escaped wherever it stands, posting numbers of three digits at least, an absent reversal
/// left out, NULL values empty; and a row whose amount is not a decimal with two places throws
/// and leaves the body as it was.
@Suite struct LaborLineTests {
    /// A posting's columns by `LaborBody.selected`'s positions; absent ones are NULL.
    final class Columns: PostingColumns {
        var text: [Int32: UnsafeMutableBufferPointer<UInt8>] = [:]
        var numbers: [Int32: Int64] = [:]

        func set(_ column: Int32, _ value: String) {
            let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: value.utf8.count)
            _ = b.initialize(from: value.utf8)
            text[column] = b
        }

        deinit { for b in text.values { b.deallocate() } }

        func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8>? { text[column].map(UnsafeBufferPointer.init) }
        func int64(_ column: Int32) -> Int64? { numbers[column] }
    }

    static func row(entry: String, n: Int64, reverses: Int64?, pernr: String?, hours: String, cost: String, bill: String, origin: Int64 = 1) -> Columns {
        let l = LaborBody.selected
        let c = Columns()
        c.numbers[l.n] = n
        if let reverses { c.numbers[l.reverses] = reverses }
        c.numbers[l.origin] = origin
        c.set(l.entry, entry)
        if let pernr { c.set(l.pernr, pernr) }
        c.set(l.project, "ERP-100234")
        c.set(l.laborClass, "BILL")
        c.set(l.postingDate, "2026-11-23")
        c.set(l.period, "2026-11")
        c.set(l.hours, hours)
        c.set(l.cost, cost)
        c.set(l.bill, bill)
        c.set(l.currency, "EUR")
        return c
    }

    /// The line as the contract spells it, made with strings.
    static func expected(entry: String, n: Int64, reverses: Int64?, pernr: String?, hours: String, cost: String, bill: String) -> String {
        let e = SnapshotWriter.escape(entry)
        let id = { (k: Int64) in "P-\(e)-\(zeroPad(Int(k), 3))" }
        return "  <Posting id=\"\(id(n))\" ref=\"\(e)\"" + (reverses.map { " reverses=\"\(id($0))\"" } ?? "")
            + " pernr=\"\(pernr ?? "")\" erpProject=\"ERP-100234\" laborClass=\"BILL\" postingDate=\"2026-11-23\" period=\"2026-11\""
            + " hours=\"\(hours)\" costAmount=\"\(cost)\" billAmount=\"\(bill)\" currency=\"EUR\"/>\n"
    }

    @Test func linesAreTheContractsText() throws {
        let cases: [(entry: String, n: Int64, reverses: Int64?, pernr: String?, hours: String, cost: String, bill: String)] = [
            ("TE-0001", 1, nil, "10000001", "7.50", "712.50", "1125.00"),
            ("TE-0001", 2, 1, "10000001", "-7.50", "-712.50", "-1125.00"),
            ("TE-&<>\"\t\n\r-x", 7, 1234, nil, "0.25", "0.00", "0.00"),
            ("", 1000, 99, "1", "24.00", "99999999999.99", "0.01"),
            (String(repeating: "&", count: 300), Int64.max, Int64.max - 1, "10000002", "1.00", "1.00", "1.00"),
        ]
        var body = LaborBody()
        var text = ""
        var sums: (Int64, Int64, Int64) = (0, 0, 0)
        for (i, c) in cases.enumerated() {
            let origin = try body.append(Self.row(entry: c.entry, n: c.n, reverses: c.reverses, pernr: c.pernr, hours: c.hours, cost: c.cost, bill: c.bill, origin: Int64(i % 2)), LaborBody.selected)
            // A new origin is returned when it is not the last line's.
            #expect(origin == Int64(i % 2))
            text += Self.expected(entry: c.entry, n: c.n, reverses: c.reverses, pernr: c.pernr, hours: c.hours, cost: c.cost, bill: c.bill)
            sums.0 += DecimalText.hundredths(DecimalText.parse(c.hours)!)
            sums.1 += DecimalText.hundredths(DecimalText.parse(c.cost)!)
            sums.2 += DecimalText.hundredths(DecimalText.parse(c.bill)!)
        }
        #expect(String(decoding: body.out, as: UTF8.self) == text)
        #expect(body.count == cases.count)
        #expect(body.hours == sums.0 && body.cost == sums.1 && body.bill == sums.2)
    }

    @Test(arguments: ["7.5", "7.500", "", "7,50", "x.50"])
    func aLineWithAnAmountNotOfTwoPlacesThrowsAndLeavesTheBody(_ cost: String) throws {
        var body = LaborBody()
        _ = try body.append(Self.row(entry: "TE-1", n: 1, reverses: nil, pernr: "1", hours: "1.00", cost: "1.00", bill: "1.00"), LaborBody.selected)
        let before = body.out
        #expect(throws: DatabaseError.self) {
            _ = try body.append(Self.row(entry: "TE-2", n: 1, reverses: nil, pernr: "1", hours: "2.00", cost: cost, bill: "0.00"), LaborBody.selected)
        }
        #expect(String(decoding: body.out, as: UTF8.self) == String(decoding: before, as: UTF8.self))
        #expect(body.count == 1 && body.hours == 100 && body.cost == 100 && body.bill == 100)
    }
}
