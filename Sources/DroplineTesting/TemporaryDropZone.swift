import DroplineCore
import DroplineRuntime
import Foundation

/// A fresh zone in a temporary folder, with the shipped pipelines; removed on deinit.
public final class TemporaryDropZone {
    public let zone: DropZone
    public var root: String { zone.root }

    public init(pipelines: String = TestPaths.pipelines, settings: String? = nil) throws {
        let dir = NSTemporaryDirectory() + "dropline-test-" + UUID().uuidString
        zone = try ZoneInitializer.create(root: dir, pipelinesSource: pipelines)
        if let settings { try settings.write(toFile: dir + "/dropline.yaml", atomically: true, encoding: .utf8) }
    }

    deinit { try? FileManager.default.removeItem(atPath: zone.root) }

    /// Copies a file into the inbox (with a `.done` marker unless told otherwise).
    @discardableResult
    public func drop(_ source: String, as name: String? = nil, marker: Bool = true) throws -> String {
        let target = zone.inbox + "/" + (name ?? URL(fileURLWithPath: source).lastPathComponent)
        try FileManager.default.copyItem(atPath: source, toPath: target)
        if marker { _ = FileManager.default.createFile(atPath: target + ".done", contents: Data()) }
        return target
    }

    /// Writes bytes into the inbox under `name`.
    public func drop(data: Data, as name: String, marker: Bool = true) throws {
        try data.write(to: URL(fileURLWithPath: zone.inbox + "/" + name))
        if marker { _ = FileManager.default.createFile(atPath: zone.inbox + "/" + name + ".done", contents: Data()) }
    }

    /// Runs in-process with settle time 0.
    public func run(asOf: String, pipelines: [String] = [], at instant: String? = nil, dryRun: Bool = false) throws -> RunSummary {
        var request = RunRequest(root: zone.root)
        request.settleSeconds = 0
        request.dryRun = dryRun
        request.asOf = BusinessDate(iso: asOf)
        request.pipelines = pipelines
        if let instant, let date = ISO8601DateFormatter().date(from: instant) {
            return try PipelineRunner(request: request, clock: { date }).run()
        }
        return try PipelineRunner(request: request).run()
    }

    public func read(_ relative: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: zone.root + "/" + relative))
    }

    public func files(in folder: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: zone.root + "/" + folder) else { return [] }
        return e.compactMap { $0 as? String }.filter { !$0.hasSuffix("/") }.sorted()
    }
}

/// Runs the built `dropline` binary and captures its output.
public struct ProcessResult {
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String
}

public func runDropline(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
    var env = environment
    env["DROPLINE_HOME"] = env["DROPLINE_HOME"] ?? TestPaths.repository
    return try runProcess(TestPaths.binary, arguments, environment: env)
}

/// Runs a program with the test's environment plus `environment`. Standard error goes through a
/// temporary file, so a chatty program cannot block on a full pipe while stdout is read.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let errPath = NSTemporaryDirectory() + "dropline-stderr-" + UUID().uuidString
    guard FileManager.default.createFile(atPath: errPath, contents: nil), let errHandle = FileHandle(forWritingAtPath: errPath) else {
        throw CocoaError(.fileWriteUnknown)
    }
    defer { try? FileManager.default.removeItem(atPath: errPath) }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = errHandle
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    try? errHandle.close()
    let e = (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data()
    return ProcessResult(exitCode: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}
