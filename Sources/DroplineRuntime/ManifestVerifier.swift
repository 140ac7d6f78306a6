import DroplineCore
import Foundation

/// `dropline verify`: recomputes every hash the manifests record (archived inputs, quarantined
/// files and their sidecars, outbound files, reject files, reference data) and walks each
/// pipeline's chain. Each problem names the file and what differs.
public struct ManifestVerifier {
    public struct Problem: Codable, Sendable, CustomStringConvertible {
        public var file: String
        public var problem: String
        public var description: String { "\(file): \(problem)" }
    }
    public struct Report: Codable, Sendable {
        public var manifests: Int
        public var files_checked: Int
        public var problems: [Problem]
        /// Reject files the manifests list in folders removed on purpose (`rejects purge`).
        public var purged_reject_files: Int = 0
    }

    let zone: DropZone

    public init(root: String) throws {
        zone = DropZone(root: root)
        guard zone.exists else { throw RunError.noZone("\(zone.root) is not a Dropline zone (no inbox/)") }
    }

    public func verify(pipeline: String? = nil, since: BusinessDate? = nil) throws -> Report {
        var problems: [Problem] = []
        var checked = 0
        guard FileManager.default.fileExists(atPath: zone.ledger) else { return Report(manifests: 0, files_checked: 0, problems: []) }
        let ledger = try Ledger(path: zone.ledger)
        let purged = try ledger.purgedRejectFolders()
        var purgedRejects = 0
        let recorded = try ledger.manifests().filter { pipeline == nil || $0.pipeline == pipeline }
        // Manifest files nobody recorded (planted or left by hand).
        let known = Set(recorded.map(\.path))
        for dir in (try? FileManager.default.contentsOfDirectory(atPath: zone.manifests)) ?? [] where pipeline == nil || dir == pipeline {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: zone.manifests + "/" + dir)) ?? [] where name.hasSuffix(".json") {
                let rel = "manifests/\(dir)/\(name)"
                if !known.contains(rel) { problems.append(.init(file: rel, problem: "manifest not recorded in the ledger")) }
            }
        }
        var manifests: [(pipeline: String, path: String, manifest: RunManifest)] = []
        var previousByPipeline: [String: String] = [:]  // actual SHA-256 of the previous manifest file
        for entry in recorded {
            defer { previousByPipeline[entry.pipeline] = entry.sha256 }
            guard let data = FileManager.default.contents(atPath: zone.root + "/" + entry.path) else {
                problems.append(.init(file: entry.path, problem: "manifest \(entry.sequence) of \(entry.pipeline) is missing (deleted?)"))
                continue
            }
            checked += 1
            let actual = SHA256Text.hex(data)
            if actual != entry.sha256 {
                problems.append(.init(file: entry.path, problem: "manifest changed: SHA-256 is \(actual), the ledger recorded \(entry.sha256)"))
            }
            guard let m = try? RunManifest.read(data) else {
                problems.append(.init(file: entry.path, problem: "manifest is not readable JSON of a known format_version"))
                continue
            }
            if m.sequence != entry.sequence { problems.append(.init(file: entry.path, problem: "sequence \(m.sequence), the ledger recorded \(entry.sequence)")) }
            if m.previous_manifest_sha256 != previousByPipeline[entry.pipeline] {
                problems.append(.init(file: entry.path, problem: "chain broken: previous_manifest_sha256 is \(m.previous_manifest_sha256 ?? "none"), the previous manifest's SHA-256 is \(previousByPipeline[entry.pipeline] ?? "none")"))
            }
            manifests.append((entry.pipeline, entry.path, m))
        }
        // The newest manifest naming an output path is the one that counts (utilization CSVs are replaced).
        var latestOutput: [String: Int] = [:]
        for (i, m) in manifests.enumerated() { for o in m.manifest.outputs { latestOutput[o.path] = i } }
        for (i, m) in manifests.enumerated() {
            if let since, let d = BusinessDate(iso: m.manifest.run_date), d < since { continue }
            func check(_ path: String, _ sha: String, _ bytes: Int64?, _ what: String) {
                checked += 1
                guard let d = try? FileDigest.sha256(path: zone.root + "/" + path) else {
                    problems.append(.init(file: path, problem: "\(what) listed in \(m.path) is missing"))
                    return
                }
                if d.hex != sha {
                    problems.append(.init(file: path, problem: "\(what) changed: SHA-256 is \(d.hex), \(m.path) recorded \(sha)" + (bytes.map { $0 != d.bytes ? " (\(d.bytes) bytes, recorded \($0))" : "" } ?? "")))
                }
            }
            for input in m.manifest.inputs {
                if let location = input.location { check(location, input.sha256, input.bytes, input.outcome == "quarantined" ? "quarantined input" : "archived input") }
                if let e = input.error_file { check(e.path, e.sha256, e.bytes, "quarantine sidecar") }
            }
            for o in m.manifest.outputs where latestOutput[o.path] == i { check(o.path, o.sha256, o.bytes, "outbound file") }
            for r in m.manifest.rejects {
                if purged.contains((r.path as NSString).deletingLastPathComponent) { purgedRejects += 1 } else { check(r.path, r.sha256, r.bytes, "reject file") }
            }
        }
        return Report(manifests: manifests.count, files_checked: checked, problems: problems, purged_reject_files: purgedRejects)
    }
}
