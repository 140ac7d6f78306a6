import DroplineCore
import DroplineLoad
import Foundation
import GRDB

/// The values of one posting, by column, wherever the row comes from: read back from the
/// warehouse (`PrefetchedRows.Row`) or as bound to its insert (`WriteBehind.BoundRow`).
protocol PostingColumns {
    func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8>?
    func int64(_ column: Int32) -> Int64?
}

extension PrefetchedRows.Row: PostingColumns {}
extension WriteBehind.BoundRow: PostingColumns {}

/// The `<Posting>` lines of an ERP labor file (contract §7.1) and what its trailer sums, made
/// from posting rows in posting order, by `OutboundQueue.writeLabor` or, while the run writes
/// the postings, by `LaborSpool`: one formatting for both, so the file is the same either way.
struct LaborBody {
    /// Where a labor line's values are among a row's columns.
    struct Layout {
        let n, entry, reverses, pernr, project, laborClass, postingDate, period, hours, cost, bill, currency, origin: Int32
    }

    /// `OutboundQueue.writeLabor`'s SELECT.
    static let selected = Layout(n: 0, entry: 1, reverses: 2, pernr: 3, project: 4, laborClass: 5, postingDate: 6, period: 7, hours: 8, cost: 9, bill: 10, currency: 11, origin: 12)
    /// `TimePostingStage.Write.postingInsert`'s parameters.
    static let inserted = Layout(n: 1, entry: 0, reverses: 2, pernr: 3, project: 4, laborClass: 5, postingDate: 6, period: 7, hours: 8, cost: 10, bill: 11, currency: 12, origin: 19)

    /// Lines not yet handed on.
    var out: [UInt8] = []
    /// Where a line is written before it is appended to `out`, at least as long as the longest
    /// line yet: room made in `out` itself was zero-filled for every line and cut back after.
    var line: [UInt8] = []
    var count = 0
    /// Totals in exact hundredths (every amount is written with two decimals).
    var hours: Int64 = 0, cost: Int64 = 0, bill: Int64 = 0
    /// The origin (run_export id) of the last line: a file's postings stand together.
    var lastOrigin: Int64?

    /// Appends the row's line and adds its amounts; a new origin (not the last line's) is
    /// returned for the caller to keep. Throws when an amount is not a decimal with two places.
    mutating func append<R: PostingColumns>(_ r: R, _ l: Layout) throws -> Int64? {
        var newOrigin: Int64?
        if let origin = r.int64(l.origin), origin != lastOrigin {
            newOrigin = origin
            lastOrigin = origin
        }
        // The line is written in place, into room for its longest form (appended to the array
        // in sixteen pieces, each paid the array's checks and a call: 4.5 k instructions a line,
        // 2.3 k then), and appended whole. The labels, quotes and two numbers take less than 256
        // bytes; the entry id is written three times, each byte escaped to at most six.
        func length(_ column: Int32) -> Int { r.bytes(column)?.count ?? 0 }
        let room = 256 + 3 * 6 * length(l.entry) + length(l.pernr) + length(l.project) + length(l.laborClass) + length(l.postingDate)
            + length(l.period) + length(l.hours) + length(l.cost) + length(l.bill) + length(l.currency)
        if line.count < room { line = Array(repeating: 0, count: Swift.max(room, 2 * line.count)) }
        var amounts: (Int64?, Int64?, Int64?)
        let written = line.withUnsafeMutableBufferPointer { b -> Int in
            var w = LineWriter(at: b.baseAddress!)
            w.put("  <Posting")
            w.postingID(r, " id=\"", l.n, entry: l.entry)
            w.attribute(r, " ref=\"", l.entry, escaped: true)
            w.postingID(r, " reverses=\"", l.reverses, entry: l.entry)
            w.attribute(r, " pernr=\"", l.pernr)
            w.attribute(r, " erpProject=\"", l.project)
            w.attribute(r, " laborClass=\"", l.laborClass)
            w.attribute(r, " postingDate=\"", l.postingDate)
            w.attribute(r, " period=\"", l.period)
            amounts.0 = w.amount(r, " hours=\"", l.hours)
            amounts.1 = w.amount(r, " costAmount=\"", l.cost)
            amounts.2 = w.amount(r, " billAmount=\"", l.bill)
            w.attribute(r, " currency=\"", l.currency)
            w.put("/>\n")
            precondition(w.count <= room, "a labor line longer than the room made for it")
            return w.count
        }
        guard let h = amounts.0, let c = amounts.1, let bl = amounts.2 else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "a posting amount is not a decimal with two places")
        }
        out.append(contentsOf: line[..<written])
        hours += h
        cost += c
        bill += bl
        count += 1
        return newOrigin
    }

    /// The trailer: the lines' count and exact sums.
    var control: [String: String] {
        ["postingCount": String(count), "totalHours": DecimalText.format(hundredths: hours), "totalCost": DecimalText.format(hundredths: cost), "totalBill": DecimalText.format(hundredths: bill)]
    }

    var trailer: [UInt8] {
        Array("  <Control postingCount=\"\(count)\" totalHours=\"\(DecimalText.format(hundredths: hours))\" totalCost=\"\(DecimalText.format(hundredths: cost))\" totalBill=\"\(DecimalText.format(hundredths: bill))\"/>\n</LaborPostings>\n".utf8)
    }

    /// Writes one line's pieces at a pointer into room its caller made.
    struct LineWriter {
        let base: UnsafeMutablePointer<UInt8>
        var count = 0

        init(at base: UnsafeMutablePointer<UInt8>) { self.base = base }

        mutating func put(_ text: StaticString) {
            (base + count).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
            count += text.utf8CodeUnitCount
        }

        mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
            if let from = bytes.baseAddress { (base + count).update(from: from, count: bytes.count) }
            count += bytes.count
        }

        mutating func put(_ byte: UInt8) {
            base[count] = byte
            count += 1
        }

        /// `SnapshotWriter.escape` on UTF-8 bytes (`XMLEscape`).
        mutating func putEscaped(_ bytes: UnsafeBufferPointer<UInt8>) {
            for b in bytes {
                if let entity = XMLEscape.entity(b) { put(entity) } else { put(b) }
            }
        }

        /// ` label="value"`; a NULL value is written empty.
        mutating func attribute<R: PostingColumns>(_ r: R, _ label: StaticString, _ column: Int32, escaped: Bool = false) {
            put(label)
            if let bytes = r.bytes(column) {
                if escaped { putEscaped(bytes) } else { put(bytes) }
            }
            put(UInt8(ascii: "\""))
        }

        /// ` label="P-<entry id>-<n>"` (`Posting.id`, written as bytes) of the posting number in
        /// `column`, at least three digits; nothing when it is NULL.
        mutating func postingID<R: PostingColumns>(_ r: R, _ label: StaticString, _ column: Int32, entry: Int32) {
            guard let n = r.int64(column) else { return }
            put(label)
            put("P-")
            if let bytes = r.bytes(entry) { putEscaped(bytes) }
            put(UInt8(ascii: "-"))
            if n >= 0 {
                var digits = 1, v = n
                while v >= 10 {
                    v /= 10
                    digits += 1
                }
                let width = max(digits, 3)
                v = n
                for i in stride(from: width - 1, through: 0, by: -1) {
                    base[count + i] = UInt8(48 + v % 10)
                    v /= 10
                }
                count += width
            } else {
                for b in zeroPad(Int(n), 3).utf8 { put(b) }
            }
            put(UInt8(ascii: "\""))
        }

        /// ` label="value"`, and the value in hundredths (nil unless a decimal with two places).
        mutating func amount<R: PostingColumns>(_ r: R, _ label: StaticString, _ column: Int32) -> Int64? {
            let bytes = r.bytes(column)
            put(label)
            if let bytes { put(bytes) }
            put(UInt8(ascii: "\""))
            return bytes.flatMap(LaborBody.hundredths)
        }
    }

    /// `-12.50` -> -1250; nil unless exactly `[-]digits.dd`.
    static func hundredths(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        // By pointer: as a slice, enumerated, it was 100 instructions an amount, three a line.
        guard var p = bytes.baseAddress else { return nil }
        var n = bytes.count
        let negative = n > 0 && p.pointee == UInt8(ascii: "-")
        if negative {
            p += 1
            n -= 1
        }
        guard n >= 4, n <= 17, p[n - 3] == UInt8(ascii: ".") else { return nil }
        var v: Int64 = 0
        for i in 0..<n where i != n - 3 {
            let c = p[i]
            guard c >= 48, c <= 57 else { return nil }
            v = v * 10 + Int64(c - 48)
        }
        return negative ? -v : v
    }
}

/// The labor lines of the postings a run writes, made as their inserts run (on the writer's
/// thread, `WriteBehind.Observer`) into a scratch file in the run's work folder, so that the
/// labor file is the header, these bytes and the trailer: reading 6.3 million postings back
/// from the warehouse after the commit took 9 s of a core, the longest step after the last
/// record of the 1 GB night.
///
/// It keeps only what was committed: each unit of work (`DatabaseQueue.unitOfWork`) begins a
/// mark, and its rollback cuts the lines back to it. It is used for a labor file only when
/// its lines are exactly the postings the file was reserved with (numbers `first...last`, none
/// missing). Its lines start past room for the labor file's header: the file then becomes the
/// labor file itself (`install`), the header written before them and the trailer after, with no
/// copy of 1.4 GB of lines (the 1 GB night), which were otherwise written to disk twice.
/// Otherwise, or after any failure of its own (a full disk, say: it never fails the load), the
/// file is read back from the warehouse as before, which a crashed run's recovery always does.
///
/// Used by one thread at a time: the writer's or the unit's while the unit runs (the writer is
/// joined before the unit ends), then the outbound writer's.
final class LaborSpool: @unchecked Sendable {
    /// In the run's work folder: scratch (`WorkRecovery.isInput` passes it over), hidden.
    static let fileName = ".labor-postings.partial"
    let path: String
    /// Bytes left at the start of `path`, before the lines: the length of the header the run's
    /// labor file is expected to have.
    let headerRoom: Int
    /// Lines gathered before they are written out to `path`.
    let flushBytes: Int
    var body = LaborBody()
    /// The origins of the lines, and those that the current unit added.
    var origins = Set<Int64>()
    var unitOrigins: [Int64] = []
    var fd: Int32 = -1
    /// Bytes of lines written out to `path` (after `headerRoom`).
    var flushed = 0
    /// The posting numbers of the lines, when any.
    var first: Int64?
    var last: Int64?
    /// Set by the first failure; nothing is gathered after it.
    var failure: String?

    /// What was committed: where a rollback cuts back to.
    struct Mark {
        var bytes = 0, count = 0
        var hours: Int64 = 0, cost: Int64 = 0, bill: Int64 = 0
        var lastOrigin: Int64?
        var first: Int64?, last: Int64?
    }
    var committed = Mark()

    init(path: String, headerRoom: Int = 0, flushBytes: Int = 1 << 20) {
        self.path = path
        self.headerRoom = headerRoom
        self.flushBytes = flushBytes
        body.out.reserveCapacity(flushBytes + (1 << 12))
    }

    deinit { discard() }

    /// For the posting stage's `WriteBehind`, observing its posting inserts.
    var observer: WriteBehind.Observer {
        { [self] _, row, rowID in append(row, seq: rowID) }
    }

    func append(_ row: WriteBehind.BoundRow, seq: Int64) {
        guard failure == nil else { return }
        // Posting numbers only grow by one within what is kept: anything else (a row of a
        // rolled-back savepoint, say) is not what the warehouse holds.
        if let last, seq != last + 1 { return fail("posting \(seq) followed \(last)") }
        do {
            if let origin = try body.append(row, LaborBody.inserted), origins.insert(origin).inserted { unitOrigins.append(origin) }
        } catch {
            return fail("a posting amount is not a decimal with two places")
        }
        if first == nil { first = seq }
        last = seq
        if body.out.count >= flushBytes { flush() }
    }

    /// Writes the gathered lines out to `path`.
    func flush() {
        guard failure == nil, !body.out.isEmpty else { return }
        if fd < 0 {
            try? DropZone.makePrivateFolder((path as NSString).deletingLastPathComponent)
            fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return fail(ErrorText.system(errno)) }
            guard lseek(fd, off_t(headerRoom), SEEK_SET) >= 0 else { return fail(ErrorText.system(errno)) }
        }
        guard body.out.withUnsafeBytes({ AtomicFile.writeAll(fd, $0) }) else { return fail(ErrorText.system(errno)) }
        flushed += body.out.count
        body.out.removeAll(keepingCapacity: true)
    }

    /// Stops gathering (the labor file will be read back) and frees what it holds.
    func fail(_ why: String) {
        failure = why
        body.out = []
        if fd >= 0 {
            close(fd)
            fd = -1
            unlink(path)
        }
    }

    // MARK: units of work

    /// A unit of work begins: what it adds is kept only if it commits.
    func begin() {
        unitOrigins.removeAll()
    }

    func commit() {
        committed = Mark(bytes: flushed + body.out.count, count: body.count, hours: body.hours, cost: body.cost, bill: body.bill, lastOrigin: body.lastOrigin, first: first, last: last)
        unitOrigins.removeAll()
    }

    /// Cuts the lines back to the last commit.
    func rollback() {
        defer { unitOrigins.removeAll() }
        guard failure == nil else { return }
        let m = committed
        if m.bytes >= flushed {
            body.out.removeLast(body.out.count - (m.bytes - flushed))
        } else {
            guard ftruncate(fd, off_t(headerRoom + m.bytes)) == 0, lseek(fd, off_t(headerRoom + m.bytes), SEEK_SET) >= 0 else { return fail(ErrorText.system(errno)) }
            flushed = m.bytes
            body.out.removeAll(keepingCapacity: true)
        }
        body.count = m.count
        body.hours = m.hours
        body.cost = m.cost
        body.bill = m.bill
        body.lastOrigin = m.lastOrigin
        first = m.first
        last = m.last
        for o in unitOrigins { origins.remove(o) }
    }

    // MARK: the labor file

    /// When the committed lines are exactly the postings numbered `first...last`: calls `chunk`
    /// with their bytes in order, then returns their count, sums and origins; nil otherwise
    /// (nothing was handed on), or rethrows what `chunk` threw.
    func lines(first: Int64, last: Int64, _ chunk: ([UInt8]) throws -> Void) throws -> (body: LaborBody, origins: Set<Int64>)? {
        guard holdsExactly(first, last) else { return nil }
        if flushed > 0 {
            var offset = 0
            var buffer = [UInt8](repeating: 0, count: max(flushBytes, 1 << 16))
            while offset < flushed {
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, min($0.count, flushed - offset), off_t(headerRoom + offset)) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                try chunk(n == buffer.count ? buffer : Array(buffer[..<n]))
                offset += n
            }
        }
        if !body.out.isEmpty { try chunk(body.out) }
        var result = body
        result.out = []
        return (result, origins)
    }

    /// Whether the committed lines are exactly the postings numbered `first...last`.
    func holdsExactly(_ first: Int64, _ last: Int64) -> Bool {
        failure == nil && committed.first == first && committed.last == last && Int64(committed.count) == last - first + 1 && body.count == committed.count
    }

    /// Makes the file the labor file at `target` when the committed lines are exactly the
    /// postings `first...last` and `header` fills the room left for it: writes the header
    /// before the lines and the trailer after them, syncs the file and renames it to `target`
    /// (then syncs the folder). Returns the file's SHA-256 with the lines' count, sums and
    /// origins, and holds nothing after. nil when it cannot, with the lines as they were, for
    /// `lines` to copy: a header of another length (the day's thousandth labor file), a
    /// `target` on another file system, a failed write.
    func install(header: [UInt8], first: Int64, last: Int64, at target: String, permissions: mode_t = 0o644) -> (digest: String, body: LaborBody, origins: Set<Int64>)? {
        guard header.count == headerRoom, holdsExactly(first, last) else { return nil }
        flush()
        guard failure == nil, fd >= 0 else { return nil }
        let trailer = body.trailer
        let end = headerRoom + flushed
        guard header.withUnsafeBytes({ AtomicFile.writeAll(fd, $0, at: 0) }), trailer.withUnsafeBytes({ AtomicFile.writeAll(fd, $0, at: end) }),
              fchmod(fd, permissions) == 0, fsync(fd) == 0, let digest = try? FileDigest.sha256(path: path), digest.bytes == Int64(end + trailer.count),
              rename(path, target) == 0
        else {
            // The lines stay where they were, and only they.
            if ftruncate(fd, off_t(end)) != 0 { fail(ErrorText.system(errno)) }
            return nil
        }
        AtomicFile.syncFolder(of: target)
        let result = (digest.hex, body, origins)
        close(fd)
        fd = -1
        discard()
        return result
    }

    /// `discard()` unless it holds postings numbered after `last` (a labor file of earlier
    /// postings was written: those of a run that crashed, say).
    func discard(through last: Int64) {
        if (committed.last ?? .min) <= last { discard() }
    }

    /// Forgets every line and removes the file: after the labor file of what it held, or
    /// when the run ends.
    func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
            unlink(path)
        }
        body = LaborBody()
        origins = []
        unitOrigins = []
        flushed = 0
        first = nil
        last = nil
        committed = Mark()
        failure = nil
    }
}
