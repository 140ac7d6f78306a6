import ArgumentParser
import DroplineCore
import DroplineRuntime
import Foundation

/// sysexits-style exit codes, mapped only here so cron can act on them.
enum ExitStatus {
    static let ok: Int32 = 0
    static let usage: Int32 = 64
    static let data: Int32 = 65
    static let noInput: Int32 = 66
    static let software: Int32 = 70
    static let cantCreate: Int32 = 73
    static let ioError: Int32 = 74
    static let tempFail: Int32 = 75
    static let config: Int32 = 78

    /// Prints the error for a person and returns the exit code that names its kind.
    static func report(_ error: any Error) -> ExitCode {
        let code: Int32
        switch error {
        case let e as DefinitionError:
            printError(e.description)
            code = config
        case let e as RunError:
            printError("dropline: " + e.description)
            switch e {
            case .locked: code = tempFail
            case .noZone, .unknownPipeline: code = noInput
            case .io: code = ioError
            case .newerZone, .notUpgradable: code = config
            }
        case let e as CocoaError where e.code == .fileWriteOutOfSpace || e.code == .fileWriteUnknown:
            printError("dropline: I/O error: \(ErrorText.describe(e))")
            code = ioError
        case let e as POSIXError:
            printError("dropline: I/O error: \(ErrorText.describe(e))")
            code = ioError
        default:
            // Storage failing anywhere else (opening or upgrading the warehouse, a commit) is
            // still storage, not a fault of Dropline's.
            if let io = StorageFailure.classify(error) {
                printError("dropline: storage failed: \(io). Nothing half-written was kept; free space or fix the disk, then run again.")
                code = ioError
            } else {
                printError("dropline: internal error: \(error)")
                code = software
            }
        }
        return ExitCode(code)
    }

    static func printError(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data((text + "\n").utf8))
    }
}
