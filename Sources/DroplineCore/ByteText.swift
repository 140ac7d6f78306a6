extension Array where Element == UInt8 {
    /// Appends a literal's UTF-8 bytes (for text written byte by byte).
    @inlinable
    public mutating func append(_ text: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends UTF-8 `text` escaped for an XML attribute value (`XMLEscape`).
    @inlinable
    public mutating func appendXMLEscaped<C: Collection<UInt8>>(_ text: C) {
        for b in text {
            if let entity = XMLEscape.entity(b) { append(entity) } else { append(b) }
        }
    }
}

/// Attribute-value escaping, a byte at a time: markup characters and the whitespace that
/// attribute normalisation would otherwise change. Every escaped character is ASCII, and no
/// byte of a multi-byte UTF-8 character is, so escaping the bytes of UTF-8 text escapes its
/// characters.
public enum XMLEscape {
    /// The entity written for `byte`; nil for a byte written as it is.
    @inlinable
    public static func entity(_ byte: UInt8) -> StaticString? {
        switch byte {
        case UInt8(ascii: "&"): "&amp;"
        case UInt8(ascii: "<"): "&lt;"
        case UInt8(ascii: ">"): "&gt;"
        case UInt8(ascii: "\""): "&quot;"
        case 0x09: "&#9;"
        case 0x0A: "&#10;"
        case 0x0D: "&#13;"
        default: nil
        }
    }
}

/// A value of at most 16 bytes held in two words (zero-padded) with its count: remembered, the
/// next value is compared with it in a few instructions, without a loop or a call.
public struct ShortBytes: Equatable, Sendable {
    @usableFromInline var count = -1
    @usableFromInline var words: (UInt64, UInt64) = (0, 0)

    /// Holds no value: equal to none made of bytes.
    @inlinable
    public init() {}

    /// The bytes of a small string (`String.smallUTF8`); nil for any other string.
    @inlinable
    public init?(smallString s: String) {
        guard let small = s.smallUTF8 else { return nil }
        count = small.count
        words = small.words
    }

    /// Nil when `bytes` are more than 16.
    @inlinable
    public init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count <= 16 else { return nil }
        count = bytes.count
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
    }

    @inlinable
    public static func == (a: ShortBytes, b: ShortBytes) -> Bool {
        a.count == b.count && a.words.0 == b.words.0 && a.words.1 == b.words.1
    }

    /// Whether it holds a value (`init()` holds none).
    @inlinable
    public var holdsValue: Bool { count >= 0 }

    /// Whether every byte is ASCII (true for no value).
    @inlinable
    public var isASCII: Bool { (words.0 | words.1) & 0x8080_8080_8080_8080 == 0 }

    /// How many leading bytes the two values share (at most the shorter's count).
    @inlinable
    public func sharedPrefix(with other: ShortBytes) -> Int {
        let x0 = (words.0 ^ other.words.0).littleEndian, x1 = (words.1 ^ other.words.1).littleEndian
        let shared = x0 != 0 ? x0.trailingZeroBitCount / 8 : 8 + (x1 != 0 ? x1.trailingZeroBitCount / 8 : 8)
        return Swift.min(shared, count, other.count)
    }
}

extension String {
    /// `String(decoding: bytes, as: UTF8.self)`. ASCII text of at most 15 bytes (a code, a
    /// number, a pernr: most values of an export) is made in place, in the two words a small
    /// string keeps its bytes in, where `String(decoding:)` validated it in the runtime (about
    /// 160 instructions, five times for every time entry read). Any other text takes
    /// `String(decoding:)`; so does every platform whose small-string form is not checked here
    /// (`ByteTextTests` compares both ways for every length).
    @inlinable
    public init(utf8Bytes bytes: UnsafeBufferPointer<UInt8>) {
        #if (arch(x86_64) || arch(arm64)) && _endian(little)
        if bytes.count <= 15, let short = ShortBytes(bytes), short.isASCII {
            // A small string's last byte: immortal, ASCII, small (0xE), then its count.
            var words = short.words
            words.1 |= (0xE0 | UInt64(bytes.count)) << 56
            self = unsafeBitCast(words, to: String.self)
            return
        }
        #endif
        self = String(decoding: bytes, as: UTF8.self)
    }

    /// Whether this text sorts before `other` by their UTF-8 bytes, as SQLite orders text:
    /// two small strings by their words (no iteration), any other pair byte by byte.
    @inlinable
    public func utf8Precedes(_ other: String) -> Bool {
        if let a = smallUTF8, let b = other.smallUTF8 {
            // Byte-swapped, the first byte is the most significant; zero padding sorts a prefix
            // first, and the counts part values that differ only by trailing zero bytes.
            let a0 = a.words.0.byteSwapped, b0 = b.words.0.byteSwapped
            if a0 != b0 { return a0 < b0 }
            let a1 = a.words.1.byteSwapped, b1 = b.words.1.byteSwapped
            if a1 != b1 { return a1 < b1 }
            return a.count < b.count
        }
        return utf8.lexicographicallyPrecedes(other.utf8)
    }

    /// The bytes of a small string (at most 15, kept in its own two words), zero-padded to 16,
    /// and their count; nil for any other string, and on a platform whose small-string form is
    /// not checked here. Copied as two words, the text takes no call, no closure and no
    /// reference counting (`withUTF8` on a copy: about 120 instructions).
    @inlinable
    public var smallUTF8: (words: (UInt64, UInt64), count: Int)? {
        #if (arch(x86_64) || arch(arm64)) && _endian(little)
        var words = unsafeBitCast(self, to: (UInt64, UInt64).self)
        // Bit 61: small (every other form clears it); the last byte's low nibble: the count.
        guard words.1 & (1 << 61) != 0 else { return nil }
        let count = Int(truncatingIfNeeded: (words.1 >> 56) & 0xF)
        words.1 &= 0x00FF_FFFF_FFFF_FFFF
        return (words, count)
        #else
        return nil
        #endif
    }
}
