import DroplineCore
import DroplineTesting
import DroplineXML
import DroplineFuzzKit
import Foundation
import Testing

/// The W3C XML conformance suite's not-well-formed cases (`../shared/conformance/not-wf.txt`, 604
/// files a namespace-aware XML 1.0 reader must refuse): every one is refused with a reason code,
/// none is accepted, none crashes.
struct ConformanceTests {
    static var conformance: String { URL(fileURLWithPath: TestPaths.interfaces).deletingLastPathComponent().path + "/conformance" }

    static func refusal(_ path: String) -> FileFailure? {
        do {
            let reader = try XMLStreamReader(path: path)
            _ = try reader.readRoot()
            while try reader.nextUnit() != nil {}
            try reader.finish()
            return nil
        } catch let f as FileFailure {
            return f
        } catch {
            return FileFailure(.notWellFormed, "\(error)")
        }
    }

    @Test func everyNotWellFormedCaseIsRefused() throws {
        let list = try String(contentsOfFile: Self.conformance + "/not-wf.txt", encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        #expect(list.count == 604)
        var accepted: [String] = []
        var byReason: [ReasonCode: Int] = [:]
        for rel in list {
            if let f = Self.refusal(Self.conformance + "/" + rel) {
                byReason[f.code, default: 0] += 1
            } else {
                accepted.append(rel)
            }
        }
        #expect(accepted.isEmpty, "accepted \(accepted.count): \(accepted.prefix(30))")
        #expect(byReason.values.reduce(0, +) == 604)
        #expect(byReason[.dtdForbidden, default: 0] > 0)
        print("conformance: \(604 - accepted.count)/604 refused; by reason: \(byReason.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))")
    }
}

/// The fuzzing regression corpus (Tests/Fixtures/fuzz-corpus): every input, replayed through
/// the same targets the fuzzer drives, ends without a crash.
struct FuzzCorpusTests {
    @Test func regressionCorpusRunsClean() throws {
        let dir = TestPaths.repository + "/Tests/Fixtures/fuzz-corpus"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names.count >= 10)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            DroplineFuzzKit.FuzzTargets.run(bytes)
        }
    }
}
