import DroplineCore
import Foundation

/// Cuts a reject file out of the original export: the same prolog, encoding declaration, root
/// start tag (export id derived as `<id>-R<NNN>`), namespaces and whitespace, the rejected
/// records byte for byte (a header kept around its rejected nested records), and a trailer whose
/// control totals are recomputed for what is in the file. A reviewer fixes a value in an editor
/// and resubmits it as it is. Reads the original once, streaming; only one record's bytes are
/// held at a time. Works on ASCII-compatible encodings (UTF-8, ISO-8859-1); not UTF-16.
struct RejectDocument {
    /// Which elements go in, in document order (records arrive in document order): a top-level
    /// index included whole (`child` -1), or a header index with one nested element index.
    /// Kept in memory up to a bound, beyond it in a temporary file: memory stays flat whatever
    /// the number of rejected records.
    var positions = RejectPositions()
    /// Control totals of the included records: per record type count, per sum check the sum.
    var counts: [String: Int] = [:]
    var sums: [Int: ExactSum] = [:]

    var isEmpty: Bool { positions.count == 0 }

    /// The first line of a cut plan: what the reject XML's root and trailer need.
    struct PlanHeader: Codable {
        var format_version = 1
        var original_export_id: String
        var seq: Int
        var counts: [String: Int]
        /// Sum check index -> exact decimal text.
        var sums: [String: String]
        var positions: Int
    }

    /// Writes what cutting the document needs (export id base and sequence, counts, sums, then
    /// one line `unit child` per position) to `path`, durably: written before the load commits,
    /// it lets the next run's recovery cut the reject XML of a run that died after the commit.
    func savePlan(to path: String, original: String, seq: Int) throws {
        let header = PlanHeader(original_export_id: original, seq: seq, counts: counts, sums: Dictionary(uniqueKeysWithValues: sums.map { ("\($0.key)", "\($0.value.total)") }), positions: positions.count)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        _ = try AtomicFile.stream(to: path, permissions: 0o600) { sink in
            try sink(try encoder.encode(header) + Data("\n".utf8))
            let next = try positions.cursor()
            var chunk: [UInt8] = []
            chunk.reserveCapacity(1 << 16 + 32)
            while let p = next.current {
                chunk.append(contentsOf: "\(p.unit) \(p.child)\n".utf8)
                if chunk.count >= 1 << 16 {
                    try sink(chunk)
                    chunk.removeAll(keepingCapacity: true)
                }
                try next.advance()
            }
            try sink(chunk)
        }
    }

    /// The document and export id parts a plan written by `savePlan` holds; nil when the file
    /// is not a whole plan.
    static func loadPlan(from path: String) throws -> (document: RejectDocument, original: String, seq: Int)? {
        var doc = RejectDocument()
        var header: PlanHeader?
        var bad = false
        try LineReader.forEachLine(path: path) { line in
            guard !bad else { return }
            guard header != nil else {
                header = try? JSONDecoder().decode(PlanHeader.self, from: Data(line))
                bad = header == nil
                return
            }
            let parts = line.split(separator: UInt8(ascii: " "))
            guard parts.count == 2, let u = Int32(String(decoding: parts[0], as: UTF8.self)), let c = Int32(String(decoding: parts[1], as: UTF8.self)) else {
                bad = true
                return
            }
            try doc.positions.append(u, c)
        }
        guard !bad, let header, header.positions == doc.positions.count else { return nil }
        doc.counts = header.counts
        for (k, v) in header.sums {
            guard let i = Int(k), let x = Decimal(string: v, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
            doc.sums[i] = ExactSum(x)
        }
        return (doc, header.original_export_id, header.seq)
    }

    /// Notes a rejected record (records come in document order, each once).
    mutating func add(_ r: Record, definition d: PipelineDefinition) throws {
        guard let unit = r.position.first.map(Int32.init) else { return }
        let last = positions.last
        if r.position.count == 1 {
            guard last?.unit != unit else { return }
            try positions.append(unit, -1)
            counts[r.type, default: 0] += 1
            for (i, v) in r.controlSums { sums[i, default: ExactSum()].add(v) }
        } else if r.position.count == 2 {
            let child = Int32(r.position[1])
            if let last, last.unit == unit, last.child >= child { return }
            if last?.unit != unit, let parent = d.record(named: r.type)?.parent { counts[parent, default: 0] += 1 }
            try positions.append(unit, child)
            counts[r.type, default: 0] += 1
            for (i, v) in r.controlSums { sums[i, default: ExactSum()].add(v) }
        }
    }

    /// Byte ranges of the document around the included elements.
    struct Layout {
        var rootStartEnd = 0
        var trailer: (gap: Int, start: Int, end: Int)?
        var rootTail = 0
    }

    /// One included top-level element: whitespace before it, start, the end of its start tag
    /// (nil when included whole), included nested ranges (whitespace, start, end), the end of
    /// its last nested element, and its end.
    typealias Unit = (gap: Int, start: Int, startTagEnd: Int?, children: [(Int, Int, Int)], lastChildEnd: Int, end: Int)

    /// Writes the reject document for `source` to `target`, streamed (memory stays flat);
    /// returns false when the source cannot be cut (UTF-16 input), so that only the JSON lines
    /// stand.
    func write(source: String, target: String, definition d: PipelineDefinition, newExportID: String) throws -> Bool {
        guard let ranges = ForwardRangeReader(path: source), let input = InputStream(fileAtPath: source) else { return false }
        let head = try ranges.read(at: 0, count: 2)
        if head.count == 2, (head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF) { return false }
        func bytes(_ from: Int, _ to: Int) throws -> Data { Data(try ranges.bytes(from, to)) }
        try DropZone.makePrivateFolder((target as NSString).deletingLastPathComponent)
        _ = try AtomicFile.stream(to: target, permissions: 0o600) { sink in
            func copy(_ from: Int, _ to: Int) throws { try sink(try ranges.bytes(from, to)) }
            let layout = try scan(input, d, root: { end in
                try sink(rewriteRoot(try bytes(0, end), d, newExportID: newExportID))
            }, unit: { u in
                if let tagEnd = u.startTagEnd {
                    try copy(u.gap, tagEnd)
                    for (gap, _, end) in u.children { try copy(gap, end) }
                    try copy(u.lastChildEnd, u.end)
                } else {
                    try copy(u.gap, u.end)
                }
            })
            guard let layout else { return }
            if let t = layout.trailer { try sink(rewriteTrailer(try bytes(t.gap, t.end), d)) }
            try ranges.forEachChunk(from: layout.rootTail) { try sink($0) }
        }
        return true
    }

    /// One pass over the original: calls `root` with the end of the root's start tag, then
    /// `unit` for every included top-level element in order; returns the rest of the layout.
    /// A top-level element none of whose records is wanted is passed over to its end tag
    /// (`ByteScanner.plainEnd`) where its content is plain; `passOver` false feeds it (tests).
    func scan(_ input: InputStream, _ d: PipelineDefinition, passOver: Bool = true, root: (Int) throws -> Void = { _ in }, unit included: (Unit) throws -> Void) throws -> Layout? {
        input.open()
        defer { input.close() }
        var scanner = ByteScanner()
        var layout = Layout()
        var lastEnd = [Int](repeating: 0, count: 4)
        var unit = -1, child = -1
        var unitStart = 0, unitGap = 0, unitTagEnd: Int?
        var children: [(Int, Int, Int)] = []
        var childStart = 0, childGap = 0
        // The next position not yet matched.
        let next = try positions.cursor()
        func wanted(_ u: Int, _ c: Int) -> Bool { next.current.map { Int($0.unit) == u && Int($0.child) == c } ?? false }
        func skip(while below: (Int) -> Bool) throws { while let p = next.current, below(Int(p.unit)) { try next.advance() } }
        let trailerNames: Set<[UInt8]> = [Array(d.extract.control.element.written.utf8), Array(d.extract.control.element.local.utf8)]
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        var first = true
        while true {
            let n = input.read(&chunk, maxLength: chunk.count)
            if n < 0 { throw input.streamError ?? POSIXError(.EIO) }
            if n == 0 { break }
            if first {
                first = false
                if n >= 2, (chunk[0] == 0xFF && chunk[1] == 0xFE) || (chunk[0] == 0xFE && chunk[1] == 0xFF) { return nil }
            }
            var i = -1
            while true {
                // Bytes that cannot change the scanner's state (text between tags, attribute
                // values) are passed over with memchr, not fed one by one.
                i = chunk.withUnsafeBufferPointer { scanner.skipInert($0, from: i + 1, to: n) }
                if i >= n { break }
                let event = scanner.feed(chunk[i])
                let here = offset + i
                switch event {
                case .open(let depth):
                    if depth == 2 {
                        unit += 1
                        child = -1
                        unitStart = here - 1  // the '<' came one byte earlier
                        unitGap = lastEnd[2]
                        unitTagEnd = nil
                        children = []
                        // Entries for elements the scanner never saw close are skipped.
                        try skip { $0 < unit }
                    } else if depth == 3 {
                        child += 1
                        childStart = here - 1
                        childGap = lastEnd[3]
                    }
                case .openEnd(let depth):
                    if depth == 1 {
                        layout.rootStartEnd = here + 1
                        lastEnd[2] = here + 1
                        try root(here + 1)
                    } else if depth == 2 {
                        unitTagEnd = here + 1
                        lastEnd[3] = here + 1
                        // No record of it wanted (the next position is of a later unit, or
                        // there is none), not the trailer: on to its end tag's '>'.
                        if passOver, next.current.map({ Int($0.unit) > unit }) ?? true, !trailerNames.contains(scanner.lastName),
                           let e = chunk.withUnsafeBufferPointer({ ByteScanner.plainEnd($0, from: i + 1, to: n, name: scanner.lastName) }) {
                            scanner.closedUnfed()
                            i = e
                            lastEnd[2] = offset + e + 1
                        }
                    }
                case .close(let depth):
                    let end = here + 1
                    if depth == 3 {
                        if wanted(unit, child) {
                            children.append((childGap, childStart, end))
                            try next.advance()
                        }
                        lastEnd[3] = end
                    } else if depth == 2 {
                        if wanted(unit, -1) {
                            try included((unitGap, unitStart, nil, [], 0, end))
                            try next.advance()
                        } else if !children.isEmpty, let tagEnd = unitTagEnd {
                            try included((unitGap, unitStart, tagEnd, children, lastEnd[3], end))
                        } else if trailerNames.contains(scanner.lastName) {
                            layout.trailer = (unitGap, unitStart, end)
                        }
                        try skip { $0 == unit }
                        lastEnd[2] = end
                    } else if depth == 1 {
                        layout.rootTail = lastEnd[2]
                    }
                case .none:
                    break
                }
            }
            offset += n
        }
        return layout
    }

    /// A whole document with its trailer's totals replaced by `counts` and `sums`.
    func retotal(_ document: Data, _ d: PipelineDefinition) -> Data {
        guard let layout = try? scan(InputStream(data: document), d, unit: { _ in }), let t = layout.trailer else { return document }
        return document.prefix(t.gap) + rewriteTrailer(document.subdata(in: t.gap..<t.end), d) + document.suffix(from: t.end)
    }

    /// The root start tag with the export id attribute replaced.
    func rewriteRoot(_ prolog: Data, _ d: PipelineDefinition, newExportID: String) -> Data {
        guard let field = d.extract.header.first(where: { $0.name == "export_id" }), case .attribute(let q)? = field.path.steps.last else { return prolog }
        return replaceAttribute(prolog, name: q.local, value: newExportID, lastTagOnly: true)
    }

    /// The trailer with every checked total recomputed for the reject file.
    func rewriteTrailer(_ tag: Data, _ d: PipelineDefinition) -> Data {
        var out = tag
        for (i, check) in d.extract.control.checks.enumerated() {
            let value: String
            switch check.total {
            case .count(let rec): value = String(counts[rec] ?? 0)
            case .sum:
                let v = sums[i]?.total ?? 0
                value = DecimalText.format(v, scale: max(2, DecimalText.significantScale(v)))
            }
            out = replaceAttribute(out, name: check.attribute.local, value: value, lastTagOnly: false)
        }
        return out
    }

    /// Replaces the value of attribute `name` (unprefixed) in the first tag that has it, or in
    /// the last start tag of `data` when `lastTagOnly`. Bytes around it stay as they are.
    func replaceAttribute(_ data: Data, name: String, value: String, lastTagOnly: Bool) -> Data {
        let bytes = [UInt8](data)
        var from = 0
        if lastTagOnly {
            var i = bytes.count - 1
            while i > 0 {
                if bytes[i] == UInt8(ascii: "<"), i + 1 < bytes.count, bytes[i + 1] != UInt8(ascii: "?"), bytes[i + 1] != UInt8(ascii: "!") { from = i; break }
                i -= 1
            }
        }
        let key = Array(name.utf8)
        var i = from
        while i + key.count + 2 < bytes.count {
            let before = i == 0 ? UInt8(ascii: " ") : bytes[i - 1]
            if [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(before), Array(bytes[i..<(i + key.count)]) == key {
                var j = i + key.count
                while j < bytes.count, [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[j]) { j += 1 }
                if j < bytes.count, bytes[j] == UInt8(ascii: "=") {
                    j += 1
                    while j < bytes.count, [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[j]) { j += 1 }
                    if j < bytes.count, bytes[j] == UInt8(ascii: "\"") || bytes[j] == UInt8(ascii: "'") {
                        let quote = bytes[j]
                        var k = j + 1
                        while k < bytes.count, bytes[k] != quote { k += 1 }
                        return Data(bytes[..<(j + 1)] + Array(value.utf8) + bytes[k...])
                    }
                }
            }
            i += 1
        }
        return data
    }
}

/// A byte-level XML tokenizer for well-formed, ASCII-compatible input: element depth across
/// comments, CDATA sections, processing instructions and quoted attribute values.
struct ByteScanner {
    enum Event: Equatable {
        case none
        /// An element start tag began (reported at its first name byte); the depth it opens.
        case open(Int)
        /// A start tag ended with '>' (the element has content); its depth.
        case openEnd(Int)
        /// An element closed ('/>' or its end tag's '>'); its depth.
        case close(Int)
    }
    enum State { case text, lt, startTag, endTag, markup, comment, cdata, pi }
    var state = State.text
    var depth = 0
    var quote: UInt8 = 0
    var previous: UInt8 = 0
    var tail: [UInt8] = []
    /// The name being read; buffers reused from tag to tag (no allocation per element).
    var name: [UInt8] = []
    var collectingName = false
    /// Name (as written, UTF-8) of the last element of depth 1 or 2 (the root, a unit) whose
    /// start or end tag was read: deeper names are not collected.
    var lastName: [UInt8] = []

    /// The index from `i` (below `n`) of the next byte `feed` must see, or `n`: in text the next
    /// '<', inside a quoted attribute value the closing quote, in a start tag past its name its
    /// '>' (quoted values passed over whole, a quote left open at `n` kept in `quote`), in an end
    /// tag whose name is not collected its '>'; elsewhere `i` itself. The bytes passed over would
    /// only have been remembered as `previous`, which is set as if fed.
    mutating func skipInert(_ b: UnsafeBufferPointer<UInt8>, from i: Int, to n: Int) -> Int {
        guard i < n, let base = b.baseAddress else { return i }
        let j: Int
        if state == .startTag && !collectingName {
            // Attribute names, '=', spaces and whole quoted values, up to the tag's '>'.
            var k = i
            var q = quote
            while k < n {
                if q != 0 {
                    guard let p = memchr(base + k, Int32(q), n - k) else {
                        k = n
                        break
                    }
                    k = UnsafePointer(p.assumingMemoryBound(to: UInt8.self)) - base + 1
                    q = 0
                    continue
                }
                let c = base[k]
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    q = c
                } else if c == UInt8(ascii: ">") {
                    break
                }
                k += 1
            }
            quote = q
            j = k
        } else {
            let target: UInt8
            if state == .text { target = UInt8(ascii: "<") } else if state == .startTag && quote != 0 { target = quote } else if state == .endTag && !collectingName { target = UInt8(ascii: ">") } else { return i }
            j = memchr(base + i, Int32(target), n - i).map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? n
        }
        if j > i { previous = b[j - 1] }
        return j
    }

    /// Where the content of an element named `name` (as written) starting at `from` ends: the
    /// index of its end tag's '>', when that tag is within `n` and the content before it is
    /// plain (no comment, CDATA section, processing instruction or element of the same name);
    /// nil otherwise. In well-formed XML no other '<' can stand in the way: text and attribute
    /// values hold none.
    static func plainEnd(_ b: UnsafeBufferPointer<UInt8>, from: Int, to n: Int, name: [UInt8]) -> Int? {
        guard let base = b.baseAddress, !name.isEmpty else { return nil }
        var k = from
        while k < n, let p = memchr(base + k, Int32(UInt8(ascii: "<")), n - k) {
            var j = UnsafePointer(p.assumingMemoryBound(to: UInt8.self)) - base + 1
            guard j < n, base[j] != UInt8(ascii: "!"), base[j] != UInt8(ascii: "?") else { return nil }
            let closing = base[j] == UInt8(ascii: "/")
            if closing { j += 1 }
            if j + name.count < n, memcmp(base + j, name, name.count) == 0 {
                let after = base[j + name.count]
                if after.isXMLSpace || after == UInt8(ascii: ">") || after == UInt8(ascii: "/") {
                    guard closing else { return nil }
                    var e = j + name.count
                    while e < n, base[e].isXMLSpace { e += 1 }
                    return e < n && base[e] == UInt8(ascii: ">") ? e : nil
                }
            }
            k = j
        }
        return nil
    }

    /// The element open at `depth` closed at a '>' passed over (`plainEnd`).
    mutating func closedUnfed() {
        state = .text
        depth -= 1
        quote = 0
        collectingName = false
        previous = UInt8(ascii: ">")
    }

    mutating func endName() {
        collectingName = false
        swap(&name, &lastName)
    }

    mutating func feed(_ b: UInt8) -> Event {
        defer { previous = b }
        switch state {
        case .text:
            if b == UInt8(ascii: "<") { state = .lt }
            return .none
        case .lt:
            if b == UInt8(ascii: "/") {
                state = .endTag
                // Names are kept down to the units' level only (`lastName`).
                collectingName = depth <= 2
                if collectingName { name.removeAll(keepingCapacity: true) }
                return .none
            }
            if b == UInt8(ascii: "?") { state = .pi; tail = []; return .none }
            if b == UInt8(ascii: "!") { state = .markup; tail = []; return .none }
            state = .startTag
            depth += 1
            collectingName = depth <= 2
            if collectingName {
                name.removeAll(keepingCapacity: true)
                name.append(b)
            }
            return .open(depth)
        case .markup:
            tail.append(b)
            if tail == Array("--".utf8) { state = .comment; tail = [] }
            else if tail == Array("[CDATA[".utf8) { state = .cdata; tail = [] }
            else if b == UInt8(ascii: ">") { state = .text }  // a declaration (never in accepted input)
            return .none
        case .comment, .cdata, .pi:
            tail.append(b)
            if tail.count > 3 { tail.removeFirst() }
            let end: [UInt8] = state == .comment ? Array("-->".utf8) : state == .cdata ? Array("]]>".utf8) : Array("?>".utf8)
            if tail.suffix(end.count).elementsEqual(end) { state = .text; tail = [] }
            return .none
        case .startTag:
            if quote != 0 {
                if b == quote { quote = 0 }
                return .none
            }
            if collectingName {
                if b.isXMLSpace || b == UInt8(ascii: "/") || b == UInt8(ascii: ">") {
                    endName()
                } else {
                    name.append(b)
                }
            }
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") { quote = b; return .none }
            if b == UInt8(ascii: ">") {
                state = .text
                if previous == UInt8(ascii: "/") {
                    depth -= 1
                    return .close(depth + 1)
                }
                return .openEnd(depth)
            }
            return .none
        case .endTag:
            if collectingName {
                if b.isXMLSpace || b == UInt8(ascii: ">") {
                    endName()
                } else {
                    name.append(b)
                }
            }
            if b == UInt8(ascii: ">") {
                state = .text
                depth -= 1
                return .close(depth + 1)
            }
            return .none
        }
    }
}

/// The export id of a reject file: `<export id>-R<NNN>` (DESIGN), within the 64 characters the
/// interfaces' ExportId type allows. A reject file of a resubmitted reject file counts on from
/// the same base (`X-R001` gives `X-R002`, not `X-R001-R001`), and a base too long for the suffix
/// keeps its first 50 characters and 8 hex digits of its SHA-256: the same every time, distinct
/// for distinct ids.
public enum RejectExportID {
    public static let maxLength = 64

    public static func base(of id: String) -> String {
        let u = Array(id.utf8)
        guard u.count > 5, u[u.count - 5] == UInt8(ascii: "-"), u[u.count - 4] == UInt8(ascii: "R"),
            u[(u.count - 3)...].allSatisfy({ $0 >= 48 && $0 <= 57 })
        else { return id }
        return String(decoding: u[..<(u.count - 5)], as: UTF8.self)
    }

    public static func derive(base: String, sequence: Int) -> String {
        let suffix = "-R" + zeroPad(sequence, 3)
        guard base.utf8.count + suffix.utf8.count > maxLength else { return base + suffix }
        return String(decoding: Array(base.utf8.prefix(50)), as: UTF8.self) + "." + SHA256Text.hex(base).prefix(8) + suffix
    }
}

/// Positions (top-level index, nested index or -1) of rejected records in document order: the
/// first `limit` in memory, the rest appended to an anonymous temporary file (`tmpfile`, gone
/// when closed), read back in order once.
final class RejectPositions {
    private var buffer: [Int32] = []
    private var file: UnsafeMutablePointer<FILE>?
    private let limit: Int
    private(set) var count = 0
    private(set) var last: (unit: Int32, child: Int32)?

    init(limit: Int = 1 << 15) { self.limit = max(1, limit) }
    deinit { if let file { fclose(file) } }

    func append(_ unit: Int32, _ child: Int32) throws {
        buffer.append(unit)
        buffer.append(child)
        count += 1
        last = (unit, child)
        if buffer.count >= 2 * limit { try spill() }
    }

    private func spill() throws {
        guard !buffer.isEmpty else { return }
        if file == nil { file = tmpfile() }
        guard let file else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let written = buffer.withUnsafeBufferPointer { fwrite($0.baseAddress, MemoryLayout<Int32>.size, $0.count, file) }
        guard written == buffer.count, fflush(file) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Reads the positions from the first; call once, after the last `append`.
    func cursor() throws -> Cursor {
        if file != nil { try spill() }
        return try Cursor(self)
    }

    final class Cursor {
        private let list: RejectPositions
        private var chunk: [Int32] = []
        private var i = 0
        private(set) var current: (unit: Int32, child: Int32)?

        fileprivate init(_ list: RejectPositions) throws {
            self.list = list
            if let file = list.file {
                rewind(file)
                try refill()
            } else {
                chunk = list.buffer
                current = chunk.count >= 2 ? (chunk[0], chunk[1]) : nil
            }
        }

        private func refill() throws {
            guard let file = list.file else {
                current = nil
                return
            }
            chunk = [Int32](repeating: 0, count: 2 * list.limit)
            let n = chunk.withUnsafeMutableBufferPointer { fread($0.baseAddress, MemoryLayout<Int32>.size, $0.count, file) }
            if n < chunk.count && ferror(file) != 0 { throw POSIXError(.EIO) }
            chunk.removeLast(chunk.count - n)
            i = 0
            current = chunk.count >= 2 ? (chunk[0], chunk[1]) : nil
        }

        func advance() throws {
            i += 2
            if i + 1 < chunk.count {
                current = (chunk[i], chunk[i + 1])
            } else if list.file != nil {
                try refill()
            } else {
                current = nil
            }
        }
    }
}

/// Byte ranges of a file, asked for in increasing order (as a reject cut does), served from a
/// window read with one `pread`: a FileHandle seek, stat and read per range cost three system
/// calls for every rejected record.
final class ForwardRangeReader {
    static let windowBytes = 1 << 15
    let fd: Int32
    var window: [UInt8] = []
    var windowStart = 0

    init?(path: String) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
    }

    deinit { close(fd) }

    /// Bytes `from..<to`; throws when the file ends before `to`.
    func bytes(_ from: Int, _ to: Int) throws -> ArraySlice<UInt8> {
        guard to > from else { return [] }
        if from < windowStart || to > windowStart + window.count {
            window = try read(at: from, count: max(to - from, Self.windowBytes))
            windowStart = from
            guard to <= from + window.count else { throw POSIXError(.EIO) }
        }
        return window[(from - windowStart)..<(to - windowStart)]
    }

    /// Everything from `offset` to the end of the file, a window at a time.
    func forEachChunk(from offset: Int, _ body: (ArraySlice<UInt8>) throws -> Void) throws {
        var at = offset
        while true {
            let chunk = try read(at: at, count: Self.windowBytes)
            if chunk.isEmpty { return }
            try body(chunk[...])
            at += chunk.count
        }
    }

    /// Up to `count` bytes at `offset` (fewer only at the end of the file).
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            if n == 0 { break }
            done += n
        }
        out.removeLast(count - done)
        return out
    }
}
