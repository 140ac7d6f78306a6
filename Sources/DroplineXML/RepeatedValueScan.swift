import DroplineCore
import Foundation

/// The values of one attribute that may occur more than once across a set of XML files, found
/// by reading their bytes once, in fixed memory, without parsing them: for a dry run, which
/// need not keep what it decides for an entry id no other entry of the run has (a dry run's
/// postings were a fifth of its work, kept only for the rare entry given twice).
///
/// The answer is a superset, never missing a repeat: every start tag whose local name is
/// `element` (whatever its prefix or depth, in a comment-free place) gives the value of each of
/// its attributes whose local name is `attribute`, read as libxml2 reads it (character
/// references and the five predefined entities replaced); values are compared by `key`, which
/// drops whitespace. Two occurrences are told apart by a Bloom filter (`KeyFilter`), whose
/// "maybe" makes a value a candidate, so a candidate is repeated or, rarely, not.
///
/// Nil (keep everything) for anything it cannot read that way for sure: a file it cannot open, a
/// DOCTYPE (which may declare entities or attribute defaults), an encoding other than UTF-8 or
/// ASCII, a tag or comment longer than `maxConstruct`, a tag it cannot read, more than
/// `maxCandidates` candidates.
public enum RepeatedValueScan {
    /// `maxCandidates` bounds the memory the answer takes (a few MB at the default, with the
    /// filter's 16 MiB at most); more candidates than that is no answer.
    public static func candidates(files: [String], element: String, attribute: String, expectedValues: Int, maxCandidates: Int = 1 << 18) -> Set<String>? {
        var seen = KeyFilter(expectedKeys: expectedValues)
        var candidates = Set<String>()
        for file in files {
            let read = forEachKey(inFileAt: file, element: element, attribute: attribute) { key in
                // A `String` only for a candidate: made for every value, it was a tenth of the
                // scan (perf, 1 GB night).
                if seen.insert(bytes: key) { candidates.insert(String(decoding: key, as: UTF8.self)) }
            }
            guard read, candidates.count <= maxCandidates else { return nil }
        }
        return candidates
    }

    /// Calls `body` with the key (`key`) of each value of `attribute` in the start tags of
    /// `element` in the file at `path`, read as `candidates` reads them (a superset of those
    /// libxml2 reads at any one path); false, having given some or none, when the file cannot be
    /// read that way for sure.
    public static func forEachKey(inFileAt path: String, element: String, attribute: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
        var scratch: [UInt8] = []
        return scan(file: path, element: Array(element.utf8), attribute: Array(attribute.utf8)) { value in
            withKey(value, into: &scratch, body)
        }
    }

    /// A value as `candidates` compares it: without XML whitespace.
    public static func key(_ value: String) -> String {
        // Its bytes read in place: through `utf8`'s iterator, some 35 instructions a byte, for
        // every entry a dry run posts.
        var text = value
        guard text.withUTF8({ $0.contains { $0.isXMLSpace } }) else { return value }
        return String(decoding: value.utf8.filter { !$0.isXMLSpace }, as: UTF8.self)
    }

    /// Calls `body` with the UTF-8 bytes of the key of an attribute value as written (between
    /// its quotes): references replaced, whitespace dropped. An unknown entity is kept as
    /// written (libxml2 refuses the file). `out` is room for a key that differs from the value.
    static func withKey<R>(_ raw: UnsafeBufferPointer<UInt8>, into out: inout [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if !raw.contains(where: { $0 == UInt8(ascii: "&") || $0.isXMLSpace }) { return body(raw) }
        out.removeAll(keepingCapacity: true)
        var i = 0
        while i < raw.count {
            let b = raw[i]
            // A reference's name: letters, digits and `#`, up to its `;` (looked for no further,
            // so that no byte is read twice: a value of `&`s only is read once).
            var end = i + 1
            while b == UInt8(ascii: "&"), end < raw.count, isReferenceByte(raw[end]) { end += 1 }
            guard b == UInt8(ascii: "&"), end < raw.count, raw[end] == UInt8(ascii: ";"), let scalar = reference(UnsafeBufferPointer(rebasing: raw[(i + 1)..<end])) else {
                if !b.isXMLSpace { out.append(b) }
                i += 1
                continue
            }
            if !(scalar.isASCII && UInt8(scalar.value).isXMLSpace) { out.append(contentsOf: String(Character(scalar)).utf8) }
            i = end + 1
        }
        return out.withUnsafeBufferPointer(body)
    }

    static func isReferenceByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "#")
    }

    /// The character of a reference's name (between `&` and `;`), if XML defines it without a DTD.
    static func reference(_ name: UnsafeBufferPointer<UInt8>) -> Unicode.Scalar? {
        switch String(decoding: name, as: UTF8.self) {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "quot": return "\""
        case "apos": return "'"
        case let n where n.hasPrefix("#x"): return UInt32(n.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
        case let n where n.hasPrefix("#"): return UInt32(n.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init)
        default: return nil
        }
    }

    static let chunk = 1 << 20
    static let maxConstruct = 8 << 20

    /// Calls `body` with each value as written; false when the file cannot be read this way.
    static func scan(file: String, element: [UInt8], attribute: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let capacity = chunk + maxConstruct
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var start = 0, end = 0
        var first = true, eof = false
        while true {
            // What is left (an unfinished construct) goes to the front, then the next chunk.
            if start > 0 {
                memmove(buffer, buffer + start, end - start)
                end -= start
                start = 0
            }
            if !eof {
                let n = read(fd, buffer + end, min(chunk, capacity - end))
                guard n >= 0 else { return false }
                eof = n == 0
                end += n
            }
            let bytes = UnsafeBufferPointer(start: buffer, count: end)
            if first {
                guard end >= 512 || eof else { continue }
                guard let content = prolog(bytes) else { return false }
                start = content
                first = false
            }
            switch tags(UnsafeBufferPointer(rebasing: bytes[start...]), element: element, attribute: attribute, body) {
            case .failed: return false
            case .done(let consumed):
                start += consumed
                if eof { return start == end || bytes[start...].allSatisfy(\.isXMLSpace) }
                if end - start >= maxConstruct { return false }
            }
        }
    }

    /// Where the document's content starts: after a UTF-8 byte order mark; nil for another
    /// byte order mark (UTF-16, UTF-32) or an XML declaration naming an encoding other than
    /// UTF-8 or ASCII (values would be other bytes for the same characters).
    static func prolog(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        if b.count >= 2, (b[0] == 0xFE && b[1] == 0xFF) || (b[0] == 0xFF && b[1] == 0xFE) { return nil }
        if b.count >= 4, b[0] == 0, b[1] == 0 { return nil }
        let start = b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<min(b.count, start + 512)]), as: UTF8.self)
        guard text.hasPrefix("<?xml"), let close = text.range(of: "?>") else { return start }
        let declaration = text[..<close.lowerBound]
        guard let e = declaration.range(of: "encoding") else { return start }
        let rest = declaration[e.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        let name = rest.dropFirst().prefix { $0 != quote }.lowercased()
        return ["utf-8", "utf8", "us-ascii", "ascii"].contains(name) ? start : nil
    }

    enum Progress {
        /// Everything before `consumed` read; what follows is an unfinished construct (or nothing).
        case done(consumed: Int)
        case failed
    }

    /// Reads the tags in `b`. In well-formed XML a `<` opens markup everywhere but in comments,
    /// CDATA sections and processing instructions (never in text or attribute values), which are
    /// passed over whole.
    static func tags(_ b: UnsafeBufferPointer<UInt8>, element: [UInt8], attribute: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Progress {
        guard let base = b.baseAddress else { return .done(consumed: 0) }
        let n = b.count
        var i = 0
        func find(_ pattern: StaticString, from: Int) -> Int? {
            let p = pattern.utf8Start, m = pattern.utf8CodeUnitCount
            var k = from
            while k + m <= n {
                guard let hit = memchr(base + k, Int32(p[0]), n - k) else { return nil }
                k = UnsafeRawPointer(hit).assumingMemoryBound(to: UInt8.self) - base
                guard k + m <= n else { return nil }
                if memcmp(base + k, p, m) == 0 { return k }
                k += 1
            }
            return nil
        }
        func starts(_ pattern: StaticString, at k: Int) -> Bool? {
            let m = pattern.utf8CodeUnitCount
            guard k + m <= n else { return nil }
            return memcmp(base + k, pattern.utf8Start, m) == 0
        }
        while true {
            guard let hit = memchr(base + i, Int32(UInt8(ascii: "<")), n - i) else { return .done(consumed: n) }
            let lt = UnsafeRawPointer(hit).assumingMemoryBound(to: UInt8.self) - base
            guard lt + 1 < n else { return .done(consumed: lt) }
            switch b[lt + 1] {
            case UInt8(ascii: "/"):
                i = lt + 2
            case UInt8(ascii: "?"):
                guard let close = find("?>", from: lt + 2) else { return .done(consumed: lt) }
                i = close + 2
            case UInt8(ascii: "!"):
                // A comment, a CDATA section, else a DOCTYPE (or worse): given up.
                guard let comment = starts("<!--", at: lt) else { return .done(consumed: lt) }
                if comment {
                    guard let close = find("-->", from: lt + 4) else { return .done(consumed: lt) }
                    i = close + 3
                    continue
                }
                guard let cdata = starts("<![CDATA[", at: lt) else { return .done(consumed: lt) }
                guard cdata else { return .failed }
                guard let close = find("]]>", from: lt + 9) else { return .done(consumed: lt) }
                i = close + 3
            default:
                guard let next = startTag(b, at: lt, element: element, attribute: attribute, body) else { return .done(consumed: lt) }
                guard next >= 0 else { return .failed }
                i = next
            }
        }
    }

    /// Reads the start tag at `lt`: the index after its name when its local name is not
    /// `element` (nothing in it can be `<`), else after its `>`, having called `body` with the
    /// values of its `attribute`; nil when it does not end within `b`, -1 when it cannot be read.
    static func startTag(_ b: UnsafeBufferPointer<UInt8>, at lt: Int, element: [UInt8], attribute: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Int? {
        let n = b.count
        // The bytes that end a name (whitespace, `>`, `/`, `=`), all below 64: one bit each.
        let stops: UInt64 = 1 << 0x20 | 1 << 0x09 | 1 << 0x0A | 1 << 0x0D | 1 << 0x3E | 1 << 0x2F | 1 << 0x3D
        func nameEnd(_ from: Int) -> Int? {
            var k = from
            while k < n {
                let c = b[k]
                if c < 64, stops >> c & 1 == 1 { return k }
                k += 1
            }
            return nil
        }
        /// Whether the name in `name` is `wanted`, or ends with `:` and `wanted`.
        func isLocal(_ name: Range<Int>, _ wanted: [UInt8]) -> Bool {
            let m = wanted.count
            guard name.count >= m, name.count == m || b[name.upperBound - m - 1] == UInt8(ascii: ":") else { return false }
            return wanted.withUnsafeBufferPointer { w in
                for x in 0..<m where b[name.upperBound - m + x] != w[x] { return false }
                return true
            }
        }
        guard let end = nameEnd(lt + 1) else { return nil }
        guard end > lt + 1 else { return -1 }
        guard isLocal((lt + 1)..<end, element) else { return end }
        // A value is handed over once its closing quote is read: a tag cut by the chunk's end
        // is read again after more of the file came, and gives its values before the cut
        // twice (a value given twice is a candidate too: more kept, nothing missed).
        var k = end
        while true {
            while k < n, b[k].isXMLSpace { k += 1 }
            guard k < n else { return nil }
            if b[k] == UInt8(ascii: ">") { k += 1; break }
            if b[k] == UInt8(ascii: "/") {
                guard k + 1 < n else { return nil }
                guard b[k + 1] == UInt8(ascii: ">") else { return -1 }
                k += 2
                break
            }
            guard let nameStop = nameEnd(k) else { return nil }
            guard nameStop > k else { return -1 }
            let name = k..<nameStop
            k = nameStop
            while k < n, b[k].isXMLSpace { k += 1 }
            guard k < n else { return nil }
            guard b[k] == UInt8(ascii: "=") else { return -1 }
            k += 1
            while k < n, b[k].isXMLSpace { k += 1 }
            guard k < n else { return nil }
            let quote = b[k]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { return -1 }
            guard let base = b.baseAddress, let hit = memchr(base + k + 1, Int32(quote), n - k - 1) else { return nil }
            let close = UnsafeRawPointer(hit).assumingMemoryBound(to: UInt8.self) - base
            if isLocal(name, attribute) { body(UnsafeBufferPointer(rebasing: b[(k + 1)..<close])) }
            k = close + 1
        }
        return k
    }
}
