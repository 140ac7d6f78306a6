@testable import DroplineCore
import DroplineTesting
import Foundation
import Testing

/// Definition diagnostics carry the exact line and column of the offending node.
struct LintTests {
    /// A copy of the shipped pipelines in a temp folder, with one file replaced.
    func folder(replacing name: String? = nil, with text: String? = nil) throws -> String {
        let dir = NSTemporaryDirectory() + "dropline-lint-" + UUID().uuidString
        try FileManager.default.copyItem(atPath: TestPaths.pipelines, toPath: dir)
        if let name, let text { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        return dir
    }

    func diagnostics(_ yaml: String) throws -> [Diagnostic] {
        let dir = try folder(replacing: "workers.yaml", with: yaml)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            _ = try PipelineLoader().load(file: dir + "/workers.yaml")
            return []
        } catch let e as DefinitionError { return e.diagnostics }
    }

    var workers: String { (try? String(contentsOfFile: TestPaths.pipelines + "/workers.yaml", encoding: .utf8)) ?? "" }

    /// What checking the shipped pipelines together finds once `from` reads `to` in `file`.
    func allDiagnostics(_ file: String, _ from: String, _ to: String) throws -> [Diagnostic] {
        let dir = try TestPaths.editedPipelines(file, replacing: from, with: to)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do { _ = try PipelineLoader().loadAll(directory: dir) } catch let e as DefinitionError { return e.diagnostics }
        return []
    }

    @Test func shippedPipelinesLoadInDependencyOrder() throws {
        let defs = try PipelineLoader().loadAll(directory: TestPaths.pipelines)
        #expect(defs.map(\.name) == ["workers", "projects", "project_acks", "periods", "rates", "time_entries"])
    }

    @Test func typoInKeyGivesLineColumnAndSuggestion() throws {
        let yaml = workers.replacingOccurrences(of: "settle_seconds: 60", with: "settle_second: 60")
        let d = try diagnostics(yaml)
        let line = yaml.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("settle_second:") }! + 1
        let column = yaml.split(separator: "\n", omittingEmptySubsequences: false)[line - 1].distance(from: yaml.split(separator: "\n", omittingEmptySubsequences: false)[line - 1].startIndex, to: yaml.split(separator: "\n", omittingEmptySubsequences: false)[line - 1].range(of: "settle_second")!.lowerBound) + 1
        #expect(d.count == 1)
        #expect(d.first?.code == .unknownKey)
        #expect(d.first?.line == line)
        #expect(d.first?.column == column)
        #expect(d.first?.description.contains("did you mean 'settle_seconds'?") == true)
        #expect(d.first?.description.hasSuffix("[unknown_key]\n    hint: known keys: done_marker, max_file_bytes, pattern, settle_seconds") == true)
    }

    /// The governed category mapping may only name the contract's utilization buckets and
    /// non-blank labor classes; the error points at the row in the reference file.
    @Test func categoryMappingRowsAreChecked() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/reference/category-mapping.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "[training, LBR-TRNG, training]", with: "[training, LBR-TRNG, trainin]")
            .replacingOccurrences(of: "[bench, LBR-BNCH, bench]", with: "[bench, \" \", bench]")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let d: [Diagnostic]
        do {
            _ = try PipelineLoader().load(file: dir + "/time_entries.yaml")
            d = []
        } catch let e as DefinitionError { d = e.diagnostics }
        #expect(d.map(\.code) == [.invalidValue, .invalidValue])
        #expect(d.map(\.file) == [path, path])
        #expect(d.map(\.line) == [lines.firstIndex { $0.contains("[training,") }! + 1, lines.firstIndex { $0.contains("[bench,") }! + 1])
        #expect(d.first?.message.contains("'trainin'") == true)
        #expect(d.first?.hint == "one of: billable, productive, strategic, internal, training, bench, absence")
        #expect(d.last?.message.contains("ERP labor class ' '") == true)
    }

    @Test func unknownStageKind() throws {
        let yaml = workers.replacingOccurrences(of: "  - compare: {", with: "  - comapre: {")
        let d = try diagnostics(yaml)
        #expect(d.map(\.code) == [.unknownStage])
        #expect(d.first?.message.contains("did you mean 'compare'?") == true)
    }

    @Test func wrongTypeAndBadPath() throws {
        let yaml = workers.replacingOccurrences(of: "settle_seconds: 60", with: "settle_seconds: soon")
            .replacingOccurrences(of: "pernr: PERNR", with: "pernr: PERNR/@x/Y")
        let d = try diagnostics(yaml)
        #expect(Set(d.map(\.code)) == [.wrongType, .badPath])
    }

    @Test func missingSchemaFile() throws {
        let d = try diagnostics(workers.replacingOccurrences(of: "schemas/hr-workers.xsd", with: "schemas/hr-worker.xsd"))
        #expect(d.map(\.code) == [.missingFile])
        #expect(d.first?.line == 9)
    }

    @Test func unknownFieldInRule() throws {
        let d = try diagnostics(workers.replacingOccurrences(of: "left: valid_from", with: "left: valid_fro"))
        #expect(d.map(\.code) == [.unknownField])
        #expect(d.first?.message.contains("did you mean 'valid_from'?") == true)
    }

    @Test func anchorsAreRefused() throws {
        let d = try diagnostics("format_version: 1\npipeline: &a workers\ndescription: *a\n")
        #expect(d.first?.code == .anchorsForbidden)
        #expect(d.first?.line == 2)
        // Windows line endings behind a first line of comment (the whole file was one commented line).
        for breakText in ["\r\n", "\r"] {
            let crlf = try diagnostics(["# the workers", "format_version: 1", "pipeline: &a workers", "description: *a", ""].joined(separator: breakText))
            #expect(crlf.first?.code == .anchorsForbidden)
            #expect(crlf.first?.line == 3)
        }
    }

    /// Aliases that expand 10^5 times (small enough that a missing guard fails the test, not
    /// hangs it), written where a scan of the text used to miss them.
    @Test func aliasesAreRefusedWhereverTheyStand() throws {
        func laughs(_ separator: String, anchorPrefix: String = "a") -> [String] {
            var parts = ["&\(anchorPrefix)0 [x, x, x, x, x, x, x, x, x, x]"]
            for i in 1...4 { parts.append("&\(anchorPrefix)\(i) [\(separator)" + Array(repeating: "*\(anchorPrefix)\(i - 1)", count: 10).joined(separator: ",\(separator)") + "]") }
            return parts
        }
        let tabs = ["format_version: 1"] + laughs("\t").enumerated().map { "k\($0.offset):\t\($0.element)" }
        let dashNames = ["format_version: 1"] + laughs(" ", anchorPrefix: "-a").enumerated().map { "k\($0.offset): \($0.element)" }
        for (yaml, line) in [(tabs.joined(separator: "\n"), 2), (dashNames.joined(separator: "\n"), 2)] {
            let d = try diagnostics(yaml + "\n")
            #expect(d.map(\.code) == [.anchorsForbidden])
            #expect(d.first?.line == line)
        }
        // After the closing quote of a two-line string (a line-by-line scan took the anchors
        // for quoted text), and an alias as a mapping key (Yams hashes keys as it composes).
        let multiline = "format_version: 1\nz: [ \"x\n  \", " + laughs(" ").joined(separator: ", ") + ", { *a4 : v } ]\n"
        let d = try diagnostics(multiline)
        #expect(d.map(\.code) == [.anchorsForbidden])
        #expect(d.first?.line == 3)
        #expect(d.first?.column == 6)
        // Ampersands and asterisks inside plain text are not anchors.
        #expect(YAMLReader.firstAnchorOrAlias("description: R&D and Q & A, 2*3, *\n") == nil)
    }

    @Test func hugeAndDeeplyNestedDefinitionsAreRefused() throws {
        let deep = "pipeline: workers\nx: " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "\n"
        #expect(try diagnostics(deep).first?.code == .tooLarge)
        let huge = "pipeline: workers\ndescription: \"" + String(repeating: "x", count: 2 << 20) + "\"\n"
        let d = try diagnostics(huge)
        #expect(d.first?.code == .tooLarge)
        #expect(d.first?.message.contains("at most 1048576") == true)
    }

    @Test func patternThatLeavesTheInboxIsRefused() throws {
        let d = try diagnostics(workers.replacingOccurrences(of: "\"HR_WORKERS_*.xml\"", with: "\"../HR_WORKERS_*.xml\""))
        #expect(d.map(\.code) == [.invalidValue])
    }

    /// One mistake, one report: a misspelt `pattern` is the unknown key and the missing one, not
    /// also an empty pattern; the known keys are listed once each; and the pipelines that depend
    /// on the broken file are not told their dependency is unknown.
    @Test func aMisspeltKeyIsReportedOnceWithoutFollowOnErrors() throws {
        let diagnostics = try allDiagnostics("workers.yaml", "pattern: \"HR_WORKERS_*.xml\"", "patern: \"HR_WORKERS_*.xml\"")
        #expect(diagnostics.map(\.code) == [.missingKey, .unknownKey], "\(diagnostics.map(\.message))")
        #expect(diagnostics.allSatisfy { $0.file.hasSuffix("/workers.yaml") })
        #expect(diagnostics.last?.hint == "known keys: done_marker, max_file_bytes, pattern, settle_seconds")
        // A misspelt type is the type's mistake, not also its keys'; a misspelt extract section
        // is not also every stage's missing record type.
        let type = try self.diagnostics(workers.replacingOccurrences(of: "type: decimal", with: "type: decmal"))
        #expect(type.map(\.code) == [.invalidValue], "\(type.map(\.message))")
        let extract = try self.diagnostics(workers.replacingOccurrences(of: "\nextract:", with: "\nextrct:"))
        #expect(extract.map(\.message) == ["the definition needs the key 'extract'", "unknown key 'extrct'; did you mean 'extract'?"])
        // An explicitly empty pattern is still refused.
        #expect(try self.diagnostics(workers.replacingOccurrences(of: "\"HR_WORKERS_*.xml\"", with: "\"\"")).map(\.code) == [.invalidValue])
    }

    /// A snapshot reads its table's columns by name, and one the table lacks read as empty: a
    /// misspelt CSV column shipped an empty column of the PSA feed. Lint refuses it, in the
    /// pipeline's own table and in another pipeline's (the project requests read `projects`).
    @Test func anOutboundFileReadsOnlyColumnsItsTableHas() throws {
        let csv = try allDiagnostics("workers.yaml", "columns: [pernr, display_name,", "columns: [pernr, dispaly_name,")
        #expect(csv.map(\.code) == [.unknownField])
        #expect(csv.first?.message == "outbound file PSA_RESOURCES_{business_date:yyyyMMdd}_{seq:03}.csv reads column 'dispaly_name' of table 'workers', which no load writes; did you mean 'display_name'?")
        let xml = try allDiagnostics("project_acks.yaml", "customerId: \"{customer_id}\"", "customerId: \"{custmer_id}\"")
        #expect(xml.map(\.message) == ["outbound file ERP_PROJECT_CREATE_{company}_{run_date:yyyyMMdd}_{seq:03}.xml reads column 'custmer_id' of table 'projects', which no load writes; did you mean 'customer_id'?"])
        let order = try allDiagnostics("workers.yaml", "order_by: [pernr, valid_from]", "order_by: [pernr, valid_form]")
        #expect(order.map(\.code) == [.unknownField])
        // A misspelt table read as missing: an empty file every night.
        let table = try allDiagnostics("workers.yaml", "      table: workers\n      order_by", "      table: worker\n      order_by")
        #expect(table.map(\.message) == ["outbound file PSA_RESOURCES_{business_date:yyyyMMdd}_{seq:03}.csv reads table 'worker', which no pipeline loads; did you mean 'workers'?"])
    }

    @Test func dependencyCycleIsAnError() throws {
        let dir = try folder(replacing: "workers.yaml", with: workers.replacingOccurrences(of: "depends_on: []", with: "depends_on: [rates]"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect {
            try PipelineLoader().loadAll(directory: dir)
        } throws: { error in
            (error as? DefinitionError)?.diagnostics.contains { $0.code == .dependencyCycle && $0.message.contains("workers") } == true
        }
    }

    @Test func overlappingPatternsAreAnError() throws {
        let dir = try folder(replacing: "extra.yaml", with: workers.replacingOccurrences(of: "pipeline: workers", with: "pipeline: workers_copy").replacingOccurrences(of: "HR_WORKERS_*.xml", with: "HR_*.xml"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect {
            try PipelineLoader().loadAll(directory: dir)
        } throws: { error in
            (error as? DefinitionError)?.diagnostics.contains { $0.code == .patternOverlap } == true
        }
    }

    /// A key given twice is placed at its first occurrence, without Yams's copy of the file.
    @Test func duplicateKeyHasPosition() throws {
        let d = try diagnostics("format_version: 1\npipeline: workers\ninbox:\n  pattern: \"A_*.xml\"\n  settle_seconds: 1\n  pattern: \"B_*.xml\"\n")
        #expect(d.map(\.code) == [.yamlSyntax])
        #expect(d.first.map { [$0.line, $0.column] } == [4, 3])
        #expect(d.first?.message == "YAML syntax: key 'pattern' appears more than once in this mapping (first here)")
    }

    @Test func yamlSyntaxErrorHasPosition() throws {
        let d = try diagnostics("pipeline: workers\ninbox: { pattern: \"x\"\n")
        #expect(d.first?.code == .yamlSyntax)
        #expect((d.first?.line ?? 0) >= 2)
    }
}
