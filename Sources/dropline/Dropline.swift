import ArgumentParser
import DroplineCore

@main
struct Dropline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dropline",
        abstract: "Batch ETL for legacy HR, PSA and ERP XML file interfaces.",
        version: DroplineInfo.version,
        subcommands: [RunCommand.self, InitCommand.self, LintCommand.self, DemoCommand.self, HistoryCommand.self, HeldCommand.self, ReportCommand.self, ReconcileCommand.self, StatusCommand.self, ReprocessCommand.self, VerifyCommand.self, RejectsCommand.self]
    )
}
