import DroplineCore
import Foundation
import Logging

/// Everything `dropline run` was asked to do; built by the CLI, consumed by `PipelineRunner`.
public struct RunRequest: Sendable {
    public var root: String
    /// Pipelines to run (empty: all, in dependency order).
    public var pipelines: [String] = []
    public var dryRun = false
    /// Run date; today in the zone's time zone when nil.
    public var asOf: BusinessDate?
    /// Overrides every pipeline's settle time.
    public var settleSeconds: Int?
    /// Overrides the zone's pipelines folder.
    public var pipelinesDirectory: String?
    /// Also print log lines to stderr, and a progress line while a file loads (a TTY).
    public var echoLogs = false
    /// Archived files (zone-relative or absolute paths under archive/) or run ids to process
    /// again deliberately: the duplicate-file check is bypassed, lineage is recorded.
    public var reprocess: [String] = []
    /// Take ready files from the inbox (false: only the reprocess targets).
    public var takeInbox = true

    public init(root: String) { self.root = root }
}

/// Run-wide facts passed down instead of globals: run id, run date, clock, logger.
public struct RunContext: Sendable {
    public var runID: String
    public var runDate: BusinessDate
    public var clock: @Sendable () -> Date
    public var logger: Logger
    public var dryRun: Bool
    /// Where a file's progress line is drawn for people (it draws nothing without a terminal).
    var progressSink: JSONLineSink?
    /// The run's reject-folder READMEs, which remember the reject files they have read.
    let readmes = RejectReadme()
    /// The labor lines of the postings the run writes (none in a dry run).
    var laborSpool: LaborSpool?
}

/// Errors that stop a run before or outside file processing, with their exit status.
public enum RunError: Error, CustomStringConvertible {
    case locked(String)
    case noZone(String)
    case unknownPipeline(String)
    case io(String)
    /// The zone's database was migrated by a newer Dropline than this one.
    case newerZone(String)
    /// The zone's database holds what this version's upgrade of it cannot keep.
    case notUpgradable(String)

    public var description: String {
        switch self {
        case .locked(let s), .noZone(let s), .unknownPipeline(let s), .io(let s), .newerZone(let s), .notUpgradable(let s): s
        }
    }

    /// A pipeline name the zone does not define, with the closest one it does.
    public static func unknownPipeline(_ name: String, among names: [String]) -> RunError {
        .unknownPipeline("no pipeline '\(name)'" + (Suggestion.closest(to: name, in: names).map { "; did you mean '\($0)'?" } ?? ""))
    }
}
