import ArgumentParser
import DroplineCore
import DroplineRuntime
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a zone: folders, a commented dropline.yaml and the shipped pipelines.")

    @Argument(help: "Folder for the new zone.")
    var directory: String

    func run() throws {
        guard let home = ShippedAssets.home() else {
            throw ExitStatus.report(RunError.noZone("cannot find the shipped pipelines/ folder; set DROPLINE_HOME to the Dropline checkout"))
        }
        do {
            // An existing zone keeps its settings and definitions; only missing folders are added.
            let existed = DropZone(root: directory).exists
            let zone = try ZoneInitializer.create(root: directory, pipelinesSource: home + "/pipelines")
            let first = existed ? "Zone \(zone.root) already exists: kept its dropline.yaml and pipelines/, added any missing folder" : "Created zone \(zone.root)"
            print("\(first)\n  drop files into \(zone.inbox)\n  run: dropline run --root \(zone.root)")
        } catch { throw ExitStatus.report(error) }
    }
}

struct LintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lint", abstract: "Check pipeline definitions: keys, types, paths, files, dependencies, pattern overlaps.")

    @Argument(help: "Definition files or folders (default: the zone's pipelines folder).")
    var paths: [String] = []

    @OptionGroup var zone: ZoneOptions

    func run() throws {
        var targets = paths
        if targets.isEmpty {
            let root = zone.resolvedRoot
            let settings: ZoneSettings
            do { settings = try ZoneSettings.load(root: root) } catch { throw ExitStatus.report(error) }
            targets = [settings.pipelines.hasPrefix("/") ? settings.pipelines : root + "/" + settings.pipelines]
        }
        var failed = false
        for target in targets {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: target, isDirectory: &isDir) else {
                ExitStatus.printError("\(target): error: no such file or folder")
                throw ExitCode(ExitStatus.noInput)
            }
            do {
                if isDir.boolValue {
                    let defs = try PipelineRunner.loadDefinitions(directory: target)
                    print("\(target): \(defs.count) pipeline(s) OK: \(defs.map(\.name).joined(separator: ", "))")
                } else {
                    let d = try PipelineLoader().load(file: target)
                    try PipelineRunner.checkPaths([d])
                    print("\(target): pipeline '\(d.name)' OK")
                }
            } catch let e as DefinitionError {
                ExitStatus.printError(e.description)
                failed = true
            }
        }
        if failed { throw ExitCode(ExitStatus.config) }
    }
}
