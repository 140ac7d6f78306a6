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
