/// `dropline run --json`: one object on stdout; stable and additive (DESIGN.md "Run summary").
public struct RunSummary: Codable, Sendable {
    public struct FileResult: Codable, Sendable {
        public var name: String
        public var pipeline: String
        public var sha256: String
        /// loaded | quarantined | skipped
        public var outcome: String
        /// File-level reason: quarantine reason or duplicate_file.
        public var reason: String?
        public var message: String?
        public var records: [String: Int]
        /// Primary reasons of rejected and held records.
        public var reasons: [String: Int]
        /// Held entries of earlier runs dropped because this export carries them again.
        public var superseded: Int?
    }
    public struct Output: Codable, Sendable {
        public var path: String
        /// The pipeline whose run wrote it.
        public var pipeline: String?
        public var sha256: String
        public var records: Int
        /// Control totals written in the file's trailer, when it has one.
        public var control: [String: String]? = nil
    }
    public var run_id: String
    public var run_date: String
    public var exit_code: Int32
    public var dry_run: Bool
    public var files: [FileResult]
    public var outputs: [Output]
    /// Files left in the inbox: not yet settled, or matching no pipeline yet.
    public var waiting: [String]
    /// Held time entries re-evaluated at the start of the run, by outcome.
    public var holds: [String: Int]?
    /// Manifests written by this run (zone-relative).
    public var manifests: [String] = []
}
