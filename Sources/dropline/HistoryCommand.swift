import ArgumentParser
import DroplineRuntime
import Foundation

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Files processed, newest first, from the ledger.")

    @OptionGroup var zone: ZoneOptions
    @Option(help: "Only this pipeline.") var pipeline: String?
    @Option(help: "At most this many files.") var limit = 20

    func run() throws {
        let z = DropZone(root: zone.resolvedRoot)
        guard FileManager.default.fileExists(atPath: z.ledger) else {
            print("no runs yet in \(z.root)")
            return
        }
        do {
            let files = try Ledger(path: z.ledger).files(pipeline: pipeline, limit: limit)
            for f in files {
                print("\(f.runID)  \(f.pipeline.padding(toLength: 12, withPad: " ", startingAt: 0)) \(f.outcome.padding(toLength: 11, withPad: " ", startingAt: 0)) \(f.name)\(f.reason.map { "  [\($0)]" } ?? "")  loaded \(f.loaded), rejected \(f.rejected)")
            }
        } catch { throw ExitStatus.report(error) }
    }
}
