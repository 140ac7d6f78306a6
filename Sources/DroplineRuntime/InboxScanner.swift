import DroplineCore
import Foundation

/// Decides which inbox entries are ready and which pipeline they belong to.
public struct InboxScanner {
    public enum Entry {
        /// Ready for a pipeline; `marker` is the `.done` file when present.
        case ready(name: String, pipeline: PipelineDefinition, marker: Bool)
        /// Not processed: quarantine at once with a reason (unsafe or empty).
        case unsafe(name: String, pipeline: String?, reason: ReasonCode, message: String)
        /// Settled but no pipeline claims it.
        case unmatched(name: String)
        /// Still arriving (or not yet settled).
        case waiting(name: String)
    }

    let zone: DropZone
    let definitions: [PipelineDefinition]
    /// Pipelines of this run; files of other pipelines are left alone.
    let selected: Set<String>
    let settleOverride: Int?
    let now: Date

    public init(zone: DropZone, definitions: [PipelineDefinition], selected: Set<String>, settleOverride: Int?, now: Date) {
        self.zone = zone
        self.definitions = definitions
        self.selected = selected
        self.settleOverride = settleOverride
        self.now = now
    }

    public func scan() throws -> [Entry] {
        let names = try FileManager.default.contentsOfDirectory(atPath: zone.inbox).sorted()
        let all = Set(names)
        var out: [Entry] = []
        for name in names {
            if name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part") { continue }
            if name.hasSuffix(".done") {
                continue  // markers travel with their file; a lone marker is ignored
            }
            let path = zone.inbox + "/" + name
            let pipeline = definitions.first { Glob.matches($0.inbox.pattern, name) }
            if let pipeline, !selected.contains(pipeline.name) { continue }
            if pipeline == nil && selected.count != definitions.count { continue }
            if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                out.append(.unsafe(name: name, pipeline: pipeline?.name, reason: .unsafeName, message: "the file name contains control characters"))
                continue
            }
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let type = st.st_mode & S_IFMT
            if type == S_IFLNK {
                out.append(.unsafe(name: name, pipeline: pipeline?.name, reason: .unsafeName, message: "the inbox entry is a symbolic link; links are never followed"))
                continue
            }
            if type != S_IFREG {
                out.append(.unsafe(name: name, pipeline: pipeline?.name, reason: .unsafeName, message: "the inbox entry is not a regular file"))
                continue
            }
            let marker = all.contains(name + ".done")
            let settle = settleOverride ?? pipeline?.inbox.settleSeconds ?? definitions.map(\.inbox.settleSeconds).min() ?? 60
            let age = now.timeIntervalSince1970 - Double(st.st_mtim.tv_sec)
            let settled = marker || age >= Double(settle)
            guard settled else {
                out.append(.waiting(name: name))
                continue
            }
            guard let pipeline else {
                out.append(.unmatched(name: name))
                continue
            }
            if pipeline.inbox.doneMarker == .required && !marker {
                out.append(.waiting(name: name))
                continue
            }
            if st.st_size == 0 {
                out.append(.unsafe(name: name, pipeline: pipeline.name, reason: .emptyFile, message: "the file is empty (zero bytes)"))
                continue
            }
            out.append(.ready(name: name, pipeline: pipeline, marker: marker))
        }
        return out
    }

    /// Order within a pipeline: business date and sequence from the name, then the name.
    public static func orderKey(_ name: String) -> (String, String, String) {
        let parts = name.split(separator: "_")
        var date = "", seq = ""
        for (i, p) in parts.enumerated() where p.count == 8 && p.allSatisfy(\.isNumber) {
            date = String(p)
            if i + 1 < parts.count { seq = String(parts[i + 1].prefix { $0.isNumber }) }
        }
        return (date, seq, name)
    }
}
