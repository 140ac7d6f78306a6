import DroplineCore
import DroplineTesting
import Foundation
import Testing

struct ErrorCodesDocTests {
    /// docs/error-codes.md lists exactly the reason codes the code knows.
    @Test func documentationListsEveryReasonCode() throws {
        let text = try String(contentsOfFile: TestPaths.repository + "/docs/error-codes.md", encoding: .utf8)
        let documented = Set(text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `") else { return nil }
            return line.dropFirst(3).split(separator: "`").first.map(String.init)
        })
        #expect(documented == Set(ReasonCode.allCases.map(\.rawValue)))
    }
}
