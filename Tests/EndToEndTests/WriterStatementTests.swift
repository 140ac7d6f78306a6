import DroplineLoad
@testable import DroplineRuntime
import DroplineTesting
import GRDB
import Testing

/// The writer's grouped statements (several rows at once) take no statement journal. SQLite
/// keeps one, a copy of each page the statement changes, for a statement that writes several
/// rows and may abort half way; on a large night that was gigabytes copied into a temporary
/// file (`Warehouse.open`, v13). So none of their constraint checks may end in ABORT: they say
/// FAIL, which leaves the rows before in place and needs nothing to undo.
struct WriterStatementTests {
    @Test func groupedStatementsCannotAbortHalfWay() throws {
        let zone = try TemporaryDropZone()
        let warehouse = try Warehouse.open(path: zone.root + "/warehouse.sqlite")
        try warehouse.read { db in
            let groups = try TimePostingStage.Write.groups { try RawStatement(db, $0) }
            let statements = groups.values.flatMap { $0 }
            #expect(Set(groups.keys) == [TimePostingStage.Write.postingInsert.rawValue, TimePostingStage.Write.postedWeekAdd.rawValue] && statements.count == 6)
            for statement in statements {
                // EXPLAIN's columns: addr, opcode, p1, p2 (a halt's conflict resolution), p3, p4 (its column)
                let program = try RawStatement(db, "EXPLAIN " + statement.sql)
                var halts = 0, aborting: [String] = []
                while try program.step() {
                    guard let opcode = program.text(1), opcode.hasPrefix("Halt") else { continue }
                    halts += 1
                    // OE_Abort: SQLite's code for ABORT in a halt's p2 (FAIL is 3).
                    if program.int64(3) == 2 { aborting.append("\(opcode) \(program.text(5) ?? "")") }
                }
                // Each checks its NOT NULL columns, so the program has halts besides its end.
                #expect(halts > 1, "\(statement.sql)")
                #expect(aborting.isEmpty, "\(aborting) in \(statement.sql)")
            }
        }
    }
}
