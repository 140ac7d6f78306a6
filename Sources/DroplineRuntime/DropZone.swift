import Foundation

/// The folders of one zone root (DESIGN.md "Zone layout"). Folders that may hold personal data
/// are created 0700, their files 0600.
public struct DropZone: Sendable {
    public let root: String

    public init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    public var inbox: String { root + "/inbox" }
    public var work: String { root + "/work" }
    public var archive: String { root + "/archive" }
    public var quarantine: String { root + "/quarantine" }
    public var rejected: String { root + "/rejected" }
    public var outbound: String { root + "/outbound" }
    public var manifests: String { root + "/manifests" }
    public var logs: String { root + "/logs" }
    public var metrics: String { root + "/metrics" }
    public var state: String { root + "/state" }
    public var ledger: String { state + "/ledger.sqlite" }

    static let privateFolders = ["work", "archive", "quarantine", "rejected", "state"]

    /// Creates every folder (idempotent).
    public func createFolders() throws {
        for name in ["inbox", "work", "archive", "quarantine", "rejected", "held", "outbound", "manifests", "logs", "metrics", "state"] {
            let path = root + "/" + name
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            if Self.privateFolders.contains(name) { chmod(path, 0o700) }
        }
    }

    public var exists: Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: inbox, isDirectory: &isDir) && isDir.boolValue
    }

    /// Creates a private folder (0700) with its parents.
    public static func makePrivateFolder(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// `rejected/<pipeline>/<run-id>`: what one run rejected of one pipeline's files.
    public func rejectFolder(pipeline: String, runID: String) -> String {
        rejected + "/" + pipeline + "/" + runID
    }

    /// Puts a reject file finished in work/ into its run's reject folder under `name` (the
    /// folder made private if need be) and syncs the folder, so that the move survives a power
    /// cut; returns where it went. On failure (a `POSIXError`) the file stays where it was, for
    /// the next run's recovery.
    @discardableResult
    func placeReject(_ from: String, pipeline: String, runID: String, as name: String) throws -> String {
        let dir = rejectFolder(pipeline: pipeline, runID: runID)
        try Self.makePrivateFolder(dir)
        let target = dir + "/" + name
        guard rename(from, target) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        AtomicFile.syncFolder(of: target)
        return target
    }
}
