import DroplineCore
import DroplineExtract
import DroplineXML
import Foundation

/// What the fuzzer drives, also replayed by the tests on the regression corpus: the streaming
/// XML extractor with the shipped time-entry definition and schema (nested records, sums), the
/// streaming read of the entries' ids that finds held entries an export carries again, the dry
/// run's byte scan for repeated ids (`RepeatedValueScan`), and the pipeline definition loader.
/// Every input must end in a result or a clean error. The first byte chooses: odd, the loader;
/// 0 mod 4, the extractor with the schema; 2 mod 4, without it, and 6 mod 8 then both reads of
/// the entry ids as well.
public enum FuzzTargets {
    /// The time-entry definition, its schema, and the stem of the input file's path.
    nonisolated(unsafe) static var prepared: (XMLExtractDefinition, XMLSchema?, String)?

    static func setUp() -> (XMLExtractDefinition, XMLSchema?, String) {
        if let p = prepared { return p }
        let pipelines = ProcessInfo.processInfo.environment["DROPLINE_PIPELINES"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/pipelines"
        let d = try! PipelineLoader().load(file: pipelines + "/time_entries.yaml")
        let schema = d.extract.schemaPath.flatMap { try? XMLSchema(path: $0) }
        prepared = (d.extract, schema, NSTemporaryDirectory() + "dropline-fuzz-\(getpid())")
        return prepared!
    }

    public static func run(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let (extract, schema, stem) = setUp()
        let input = Data(bytes.dropFirst())
        // One input file at a time, removed after use: a test run or a fuzzing session leaves
        // nothing behind in the temporary folder.
        let path = stem + (selector % 2 == 0 ? ".xml" : ".yaml")
        try? input.write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        if selector % 2 == 0 {
            let extractor = XMLRecordExtractor(definition: extract, schema: selector % 4 == 0 ? schema : nil, limits: XMLLimits(maxUnitBytes: 1 << 16, maxDepth: 64))
            _ = try? extractor.run(path: path, header: { _ in }, record: { _ in })
            if selector % 8 == 6, let entry = extract.records.first(where: { $0.name == "entry" }) {
                try? XMLAttributeScan.forEachElement(inFileAt: path, at: entry.path.map { XMLName(namespace: $0.namespace, local: $0.local) }, attribute: XMLName(namespace: nil, local: "id")) { _ in }
                _ = RepeatedValueScan.candidates(files: [path], element: "Entry", attribute: "id", expectedValues: 1024)
            }
        } else {
            _ = try? PipelineLoader().load(file: path)
        }
    }
}
