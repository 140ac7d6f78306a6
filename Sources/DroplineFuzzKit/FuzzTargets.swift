import DroplineCore
import DroplineExtract
import DroplineXML
import Foundation

/// What the fuzzer drives, also replayed by the tests on the regression corpus: the streaming
/// XML extractor with the shipped time-entry definition and schema (nested records, sums), and
/// the pipeline definition loader. Every input must end in a result or a clean error.
public enum FuzzTargets {
    nonisolated(unsafe) static var prepared: (XMLExtractDefinition, XMLSchema?, String)?

    static func setUp() -> (XMLExtractDefinition, XMLSchema?, String) {
        if let p = prepared { return p }
        let pipelines = ProcessInfo.processInfo.environment["DROPLINE_PIPELINES"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/pipelines"
        let d = try! PipelineLoader().load(file: pipelines + "/time_entries.yaml")
        let schema = d.extract.schemaPath.flatMap { try? XMLSchema(path: $0) }
        let dir = NSTemporaryDirectory() + "dropline-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        prepared = (d.extract, schema, dir)
        return prepared!
    }

    public static func run(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let (extract, schema, dir) = setUp()
        let input = Data(bytes.dropFirst())
        if selector % 2 == 0 {
            let path = dir + "/input.xml"
            try? input.write(to: URL(fileURLWithPath: path))
            let extractor = XMLRecordExtractor(definition: extract, schema: selector % 4 == 0 ? schema : nil, limits: XMLLimits(maxUnitBytes: 1 << 16, maxDepth: 64))
            _ = try? extractor.run(path: path, header: { _ in }, record: { _ in })
        } else {
            let path = dir + "/fuzz.yaml"
            try? input.write(to: URL(fileURLWithPath: path))
            _ = try? PipelineLoader().load(file: path)
        }
    }
}
