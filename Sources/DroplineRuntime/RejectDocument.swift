import DroplineCore
import Foundation

/// Cuts a reject file out of the original export: the same prolog, encoding declaration, root
/// start tag (export id derived as `<id>-R<NNN>`), namespaces and whitespace, the rejected
/// records byte for byte (a header kept around its rejected nested records), and a trailer whose
/// control totals are recomputed for what is in the file. A reviewer fixes a value in an editor
/// and resubmits it as it is. Reads the original once, streaming; only one record's bytes are
/// held at a time. Works on ASCII-compatible encodings (UTF-8, ISO-8859-1); not UTF-16.
struct RejectDocument {
    /// Which elements go in: a top-level index included whole, or a header index with some of
    /// its nested element indices.
    var whole = Set<Int>()
    var partial: [Int: Set<Int>] = [:]
    /// Control totals of the included records: per record type count, per sum check the sum.
    var counts: [String: Int] = [:]
    var sums: [Int: Decimal] = [:]

    var isEmpty: Bool { whole.isEmpty && partial.isEmpty }

    /// Notes a rejected record; `containerTypes` maps a top-level position to its record type.
    mutating func add(_ r: Record, definition d: PipelineDefinition) {
        guard let unit = r.position.first else { return }
        if r.position.count == 1 {
            if whole.insert(unit).inserted { counts[r.type, default: 0] += 1 }
            for (i, v) in r.controlSums { sums[i, default: 0] += v }
        } else if r.position.count == 2 {
            if partial[unit] == nil, let parent = d.record(named: r.type)?.parent { counts[parent, default: 0] += 1 }
            if partial[unit, default: []].insert(r.position[1]).inserted { counts[r.type, default: 0] += 1 }
            for (i, v) in r.controlSums { sums[i, default: 0] += v }
        }
    }

    /// Writes the reject document for `source` to `target`; returns false when the source cannot
    /// be cut (UTF-16 input) so that only the JSON lines stand.
    func write(source: String, target: String, definition d: PipelineDefinition, newExportID: String) throws -> Bool {
        guard let input = InputStream(fileAtPath: source) else { return false }
        input.open()
        defer { input.close() }
        var scanner = ByteScanner()
        var out = Data()
        var pendingSpace = Data()
        var unitBuffer = Data()
        var unitIndex = -1
        var childIndex = -1
        var unitStartTagEnd = 0  // length of the header's start tag within unitBuffer
        var keepUnit = false, keepSome = Set<Int>()
        var childBuffer = Data(), childSpace = Data()
        var headerOut = Data()
        var trailer = Data()
        var afterRoot = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var first = true
        while true {
            let n = input.read(&chunk, maxLength: chunk.count)
            if n < 0 { throw input.streamError ?? POSIXError(.EIO) }
            if n == 0 { break }
            var i = 0
            if first {
                first = false
                if n >= 2, (chunk[0] == 0xFF && chunk[1] == 0xFE) || (chunk[0] == 0xFE && chunk[1] == 0xFF) { return false }
            }
            while i < n {
                let b = chunk[i]
                let event = scanner.feed(b)
                let depth = scanner.depth
                // Route the byte.
                if scanner.rootClosedAt != nil {
                    afterRoot.append(b)
                } else if depth == 0 || (depth == 1 && scanner.inRootStartTag) {
                    out.append(b)  // prolog and root start tag
                } else if depth == 1 && !scanner.inElementMarkup {
                    if event == .startTag { } else { pendingSpace.append(b) }
                } else {
                    unitBuffer.append(b)
                }
                switch event {
                case .startTag where scanner.elementDepth == 2:
                    // A new child of the root begins: the '<' was buffered as whitespace; move it.
                    unitIndex += 1
                    childIndex = -1
                    if pendingSpace.last == UInt8(ascii: "<") { pendingSpace.removeLast() }
                    unitBuffer = Data([UInt8(ascii: "<")])
                    keepUnit = whole.contains(unitIndex)
                    keepSome = partial[unitIndex] ?? []
                    headerOut = Data()
                case .startTagEnd where scanner.elementDepth == 2 && !keepSome.isEmpty:
                    unitStartTagEnd = unitBuffer.count
                    headerOut = pendingSpace + unitBuffer.prefix(unitStartTagEnd)
                case .startTag where scanner.elementDepth == 3 && !keepSome.isEmpty:
                    childIndex += 1
                    // Whitespace before the child: what the buffer holds since the last cut.
                    let sinceCut = unitBuffer.count - 1 - (unitStartTagEnd)
                    childSpace = sinceCut > 0 ? unitBuffer.subdata(in: unitStartTagEnd..<(unitBuffer.count - 1)) : Data()
                    childBuffer = Data([UInt8(ascii: "<")])
                    unitStartTagEnd = unitBuffer.count - 1
                case .elementEnd where scanner.elementDepth == 3 && !keepSome.isEmpty:
                    childBuffer = unitBuffer.subdata(in: unitStartTagEnd..<unitBuffer.count)
                    if keepSome.contains(childIndex) { headerOut += childSpace + childBuffer }
                    unitStartTagEnd = unitBuffer.count
                case .elementEnd where scanner.elementDepth == 2:
                    // The child of the root is complete.
                    let isTrailer = scanner.lastElementName == d.extract.control.element.written || scanner.lastElementName.hasSuffix(":" + d.extract.control.element.local) || scanner.lastElementName == d.extract.control.element.local
                    if isTrailer && unitIndex >= 0 && !whole.contains(unitIndex) && partial[unitIndex] == nil {
                        trailer = pendingSpace + rewriteTrailer(unitBuffer, d)
                    } else if keepUnit {
                        out += pendingSpace + unitBuffer
                    } else if !keepSome.isEmpty {
                        // Header end tag: what follows the last child.
                        let tail = unitBuffer.subdata(in: unitStartTagEnd..<unitBuffer.count)
                        out += headerOut + tail
                    }
                    pendingSpace = Data()
                    unitBuffer = Data()
                default:
                    break
                }
                i += 1
            }
        }
        out = rewriteRoot(out, d, newExportID: newExportID)
        out += trailer + pendingSpace + afterRoot
        try DropZone.makePrivateFolder((target as NSString).deletingLastPathComponent)
        try AtomicFile.write(out, to: target, permissions: 0o600)
        return true
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
            case .sum: value = DecimalText.canonical(sums[i] ?? 0).contains(".") || (sums[i] ?? 0) == 0 ? DecimalText.format(sums[i] ?? 0, scale: max(2, DecimalText.significantScale(sums[i] ?? 0))) : DecimalText.format(sums[i] ?? 0, scale: 2)
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

/// A byte-level XML tokenizer for well-formed, ASCII-compatible input: tracks element depth,
/// comments, CDATA, processing instructions and quoted attribute values.
struct ByteScanner {
    enum Event { case none, startTag, startTagEnd, elementEnd }
    enum State { case text, lt, startTag, endTag, comment, cdata, pi, bang }
    var state = State.text
    /// Elements currently open (the root is 1).
    var elementDepth = 0
    var quote: UInt8 = 0
    var tail: [UInt8] = []  // last bytes, to recognise "-->", "]]>", "?>"
    var name: [UInt8] = []
    var collectingName = false
    var lastElementName = ""
    var rootClosedAt: Int?
    var inRootStartTag = false
    /// Inside an element's markup or content at depth >= 2.
    var inElementMarkup: Bool { elementDepth >= 2 || (state != .text && elementDepth >= 1 && !inRootStartTag) }
    var depth: Int { elementDepth }
    var previous: UInt8 = 0
    var bangBuffer: [UInt8] = []

    mutating func feed(_ b: UInt8) -> Event {
        defer { previous = b }
        switch state {
        case .text:
            if b == UInt8(ascii: "<") { state = .lt }
            return .none
        case .lt:
            switch b {
            case UInt8(ascii: "/"):
                state = .endTag
                name = []
                collectingName = true
                return .none
            case UInt8(ascii: "?"):
                state = .pi
                return .none
            case UInt8(ascii: "!"):
                state = .bang
                bangBuffer = []
                return .none
            default:
                state = .startTag
                elementDepth += 1
                if elementDepth == 1 { inRootStartTag = true }
                name = [b]
                collectingName = true
                return .startTag
            }
        case .bang:
            bangBuffer.append(b)
            if bangBuffer == Array("--".utf8) { state = .comment; tail = [] }
            else if bangBuffer == Array("[CDATA[".utf8) { state = .cdata; tail = [] }
            else if bangBuffer.count > 7 { state = .text }  // DOCTYPE: never in accepted input
            return .none
        case .comment, .cdata, .pi:
            tail.append(b)
            if tail.count > 3 { tail.removeFirst() }
            let end: [UInt8] = state == .comment ? Array("-->".utf8) : state == .cdata ? Array("]]>".utf8) : Array("?>".utf8)
            if tail.suffix(end.count) == end[...] { state = .text; tail = [] }
            return .none
        case .startTag:
            if quote != 0 {
                if b == quote { quote = 0 }
                return .none
            }
            if collectingName {
                if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "/") || b == UInt8(ascii: ">") {
                    collectingName = false
                    lastElementName = String(decoding: name, as: UTF8.self)
                } else {
                    name.append(b)
                }
            }
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") { quote = b; return .none }
            if b == UInt8(ascii: ">") {
                state = .text
                inRootStartTag = false
                if previous == UInt8(ascii: "/") {
                    elementDepth -= 1
                    return elementDepth + 1 == 2 || elementDepth + 1 == 3 ? closeEvent() : .none
                }
                return .startTagEnd
            }
            return .none
        case .endTag:
            if collectingName {
                if b == UInt8(ascii: ">") || b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") {
                    collectingName = false
                    lastElementName = String(decoding: name, as: UTF8.self)
                } else {
                    name.append(b)
                }
            }
            if b == UInt8(ascii: ">") {
                state = .text
                elementDepth -= 1
                if elementDepth == 0 { rootClosedAt = 0 }
                return closeEvent()
            }
            return .none
        }
    }

    /// An element closed; `elementDepth` reports the depth it had.
    mutating func closeEvent() -> Event {
        elementDepth += 1
        defer { elementDepth -= 1 }
        return .elementEnd
    }
}
