import Foundation

/// Named instants at which a crash-safety test makes the process die as `kill -9` would: no
/// cleanup, no buffer flushed, exit status 137. Armed by `DROPLINE_FAILPOINT=<name>` in the
/// environment, for tests only (CrashSafetyTests); unarmed, a hit is one comparison. They sit
/// where a random kill rarely lands: just after a commit, before the files that go with it;
/// and where a test requires a run never to go (`holdPrePassReads`, `lookupWaitsForWrites`).
enum Failpoint: String {
    /// The hold pre-pass begins reading an export's entry ids (never a duplicate's).
    case holdPrePassReads = "hold-pre-pass-reads"
    /// A lookup waits for the write queue, which holds a write for its key (an entry id seen
    /// twice in one run; never an entry whose superseded hold was just dropped).
    case lookupWaitsForWrites = "lookup-waits-for-writes"
    /// An input file's load committed; its reject files, ledger entry and archived copy not yet.
    case fileCommitted = "file-committed"
    /// The reject XML of a loaded file in rejected/, not yet in the ledger.
    case rejectCutPlaced = "reject-cut-placed"
    /// Held entries re-evaluated and committed; the reject files of those rejected not yet.
    case holdsCommitted = "holds-committed"
    /// A labor file reserved with its postings in the warehouse, not yet written.
    case laborFileReserved = "labor-file-reserved"
    /// A pipeline's manifest recorded in the ledger, its file not yet in place.
    case manifestRecorded = "manifest-recorded"

    static let armed = ProcessInfo.processInfo.environment["DROPLINE_FAILPOINT"].flatMap(Failpoint.init(rawValue:))

    func hit() {
        if Self.armed == self { _exit(137) }
    }
}
