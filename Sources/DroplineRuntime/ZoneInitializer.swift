import Foundation

/// `dropline init DIR`: the folders, a commented `dropline.yaml`, and a copy of the shipped
/// pipelines (definitions, reference data, schemas).
public enum ZoneInitializer {
    public static func create(root: String, pipelinesSource: String) throws -> DropZone {
        let zone = DropZone(root: root)
        try zone.createFolders()
        let settings = zone.root + "/" + ZoneSettings.fileName
        if !FileManager.default.fileExists(atPath: settings) {
            try AtomicFile.write(Data(ZoneSettings.template.utf8), to: settings)
        }
        let target = zone.root + "/pipelines"
        if !FileManager.default.fileExists(atPath: target) {
            try FileManager.default.copyItem(atPath: pipelinesSource, toPath: target)
        }
        return zone
    }
}

/// Where the shipped `pipelines/` and `samples/` live: `$DROPLINE_HOME`, else the first
/// ancestor of the executable that has both, else the source checkout this binary was built from.
public enum ShippedAssets {
    public static func home() -> String? {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["DROPLINE_HOME"] { candidates.append(env) }
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.path)
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path)
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/pipelines") && FileManager.default.fileExists(atPath: $0 + "/samples") }
    }
}
