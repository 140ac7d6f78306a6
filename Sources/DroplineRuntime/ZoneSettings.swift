import DroplineCore
import Foundation
import Yams

/// `dropline.yaml`: zone settings, decoded strictly like pipeline definitions.
public struct ZoneSettings: Sendable {
    /// Folder of pipeline definitions, relative to the zone root unless absolute.
    public var pipelines: String = "pipelines"
    public var warehouse: String = "warehouse.sqlite"
    /// ERP company code Dropline posts for.
    public var company: String = "1000"
    /// Calendar days a held time entry may wait.
    public var holdDays: Int = 5
    /// IANA zone that defines the run date.
    public var timeZone: String = "Europe/Berlin"
    /// Exit code of a run that finished but quarantined files or rejected records.
    public var exitCodeOnRejects: Int32 = 1
    /// Parser limits.
    public var maxRecordBytes: Int = 1 << 20
    public var maxDepth: Int = 256
    public var maxAttributes: Int = 256
    public var maxTextBytes: Int = 1 << 20
    /// Cap on any input file, whatever its pipeline allows.
    public var maxFileBytes: Int64 = 4 << 30
    /// Days a run's reject folders are kept (they may hold personal data); 0 keeps them until
    /// `dropline rejects purge`.
    public var rejectedDays: Int = 0

    public init() {}

    /// The zone's date at `instant`, in its time zone: what a run takes as its run date.
    public func date(at instant: Date) -> BusinessDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? .gmt
        let c = calendar.dateComponents([.year, .month, .day], from: instant)
        return BusinessDate(year: c.year!, month: c.month!, day: c.day!)!
    }

    public static let fileName = "dropline.yaml"

    public static func load(root: String) throws -> ZoneSettings {
        let path = root + "/" + fileName
        var s = ZoneSettings()
        guard FileManager.default.fileExists(atPath: path) else { return s }
        let reader = YAMLReader(file: path)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DefinitionError([Diagnostic(file: path, line: 1, column: 1, code: .missingFile, message: "cannot read zone settings")])
        }
        if let node = reader.compose(text), let m = reader.document(node) {
            _ = m.int("format_version", default: 1)
            s.pipelines = m.string("pipelines") ?? s.pipelines
            s.warehouse = m.string("warehouse") ?? s.warehouse
            s.company = m.string("company") ?? s.company
            if s.company.range(of: "^[0-9]{4}$", options: .regularExpression) == nil {
                reader.error(m.value("company"), .invalidValue, "company must be 4 digits")
            }
            s.holdDays = m.int("hold_days", default: s.holdDays)
            if s.holdDays < 0 { reader.error(m.value("hold_days"), .invalidValue, "hold_days must be 0 or more", hint: "calendar days a held entry may wait before it is rejected; 0 rejects what would be held") }
            s.timeZone = m.string("time_zone") ?? s.timeZone
            if TimeZone(identifier: s.timeZone) == nil {
                reader.error(m.value("time_zone"), .invalidValue, "unknown time zone '\(s.timeZone)'", hint: "use an IANA name such as Europe/Berlin")
            }
            let exitCode = m.int("exit_code_on_rejects", default: Int(s.exitCodeOnRejects))
            // 64 and above are Dropline's own codes (a 75 would read as "locked" to cron), and an
            // exit status is one byte.
            if !(0...63).contains(exitCode) {
                reader.error(m.value("exit_code_on_rejects"), .invalidValue, "exit_code_on_rejects must be 0 to 63, not \(exitCode)", hint: "0 ignores rejects; 64 and above are Dropline's error codes")
            } else {
                s.exitCodeOnRejects = Int32(exitCode)
            }
            if let retention = m.mapping("retention") {
                s.rejectedDays = retention.int("rejected_days", default: s.rejectedDays)
                if s.rejectedDays < 0 { reader.error(retention.value("rejected_days"), .invalidValue, "retention.rejected_days must be 0 (keep) or more") }
                retention.finish()
            }
            if let limits = m.mapping("limits") {
                s.maxRecordBytes = limits.int("max_record_bytes", default: s.maxRecordBytes)
                s.maxDepth = limits.int("max_depth", default: s.maxDepth)
                s.maxFileBytes = Int64(limits.int("max_file_bytes", default: Int(s.maxFileBytes)))
                s.maxAttributes = limits.int("max_attributes", default: s.maxAttributes)
                s.maxTextBytes = limits.int("max_text_bytes", default: s.maxTextBytes)
                // A limit of 0 or less would quarantine every file.
                for (key, value) in [("max_record_bytes", Int64(s.maxRecordBytes)), ("max_depth", Int64(s.maxDepth)), ("max_file_bytes", s.maxFileBytes),
                                     ("max_attributes", Int64(s.maxAttributes)), ("max_text_bytes", Int64(s.maxTextBytes))] where value < 1 {
                    reader.error(limits.value(key), .invalidValue, "limits.\(key) must be 1 or more, not \(value)")
                }
                limits.finish()
            }
            m.finish()
        }
        if !reader.diagnostics.isEmpty { throw DefinitionError(reader.diagnostics) }
        return s
    }

    /// The commented file `dropline init` writes.
    public static let template = """
        # Dropline zone settings. Every key is optional; the values shown are the defaults.
        format_version: 1
        # Folder of pipeline definitions, reference data and schemas (relative to this zone).
        pipelines: pipelines
        # Warehouse database (SQLite, relative to this zone).
        warehouse: warehouse.sqlite
        # ERP company code postings are made for (4 digits).
        company: "1000"
        # Calendar days a held time entry may wait before it is rejected (0 or more).
        hold_days: 5
        # Time zone that defines the run date (IANA name).
        time_zone: Europe/Berlin
        retention:
          # Days each run's reject folder is kept (it may hold personal data); older ones are
          # removed at the end of every run, as 'dropline rejects purge' does. 0 keeps them.
          rejected_days: 0
        # Exit code when a run finished but quarantined files or rejected records (0 to ignore;
        # at most 63: 64 and above are Dropline's error codes).
        exit_code_on_rejects: 1
        limits:
          # Largest single record (a child of the root with its content), in bytes.
          max_record_bytes: 1048576
          # Deepest element nesting (libxml2 itself stops at 256).
          max_depth: 256
          # Largest input file in bytes (pipelines may set a lower max_file_bytes).
          max_file_bytes: 4294967296
          # Most attributes on one element.
          max_attributes: 256
          # Longest text node or attribute value in bytes (libxml2 stops at 10 MB regardless).
          max_text_bytes: 1048576
        # Fixed by the parser, not configurable: no DTD is loaded and a DOCTYPE is refused
        # (dtd_forbidden); no entity is expanded (entity_limit) and nothing is fetched from the
        # network; names, and one start tag's markup, beyond libxml2's own bounds give size_limit.

        """
}
