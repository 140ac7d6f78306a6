import Foundation

/// Locations tests need: this checkout, its shipped pipelines and samples, the built binary, and
/// the read-only interface examples in `../shared/interfaces/` (fixtures only).
public enum TestPaths {
    public static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var pipelines: String { repository + "/pipelines" }

    /// An edit `editedPipelines` could not make: the file does not contain the text.
    public struct EditNotFound: Error, CustomStringConvertible {
        public var description: String
    }

    /// A copy of the shipped pipelines in a new temporary folder, with `from` replaced by `to`
    /// in `file`. Throws when the file does not contain `from` (the test would then check the
    /// shipped definitions unchanged). The caller removes the folder.
    public static func editedPipelines(_ file: String, replacing from: String, with to: String) throws -> String {
        let dir = NSTemporaryDirectory() + "dropline-pipelines-" + UUID().uuidString
        try FileManager.default.copyItem(atPath: pipelines, toPath: dir)
        let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
        guard text.contains(from) else {
            try? FileManager.default.removeItem(atPath: dir)
            throw EditNotFound(description: "'\(from)' is not in \(file)")
        }
        try text.replacingOccurrences(of: from, with: to).write(toFile: dir + "/" + file, atomically: true, encoding: .utf8)
        return dir
    }
    public static var samples: String { repository + "/samples" }

    /// The interface contract's folder: `$DROPLINE_SHARED/interfaces`, else `../shared/interfaces`
    /// beside the checkout, else `/work/shared/interfaces`.
    public static var interfaces: String {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["DROPLINE_SHARED"] { candidates.append(env + "/interfaces") }
        candidates.append(URL(fileURLWithPath: repository).deletingLastPathComponent().path + "/shared/interfaces")
        candidates.append("/work/shared/interfaces")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/examples") } ?? candidates[candidates.count - 2]
    }
    public static var examples: String { interfaces + "/examples" }

    /// The `dropline` executable next to the test bundle.
    public static var binary: String {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("dropline").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("dropline").path,
            repository + "/.build/debug/dropline",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }
}
