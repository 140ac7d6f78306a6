/// A set of strings that answers "maybe" or "certainly not", in fixed memory: a blocked Bloom
/// filter, four bits in one 64-bit word per key (one cache line touched per question). Sized
/// for an expected number of keys at 12 to 24 bits a key, between 8 KiB and 16 MiB (about
/// 11 million keys); past that it still answers correctly, only more often "maybe".
public struct KeyFilter: Sendable {
    var words: [UInt64]
    let mask: Int

    public init(expectedKeys: Int) {
        var count = 1024
        let wanted = max(expectedKeys, 0) / 64 * 12
        while count < wanted && count < 1 << 21 { count <<= 1 }
        words = Array(repeating: 0, count: count)
        mask = count - 1
    }

    @inline(__always)
    func probe(_ key: String, kind: UInt64) -> (index: Int, bits: UInt64) {
        // The UTF-8 bytes eight at a time, each word multiplied in, then SplitMix64's finalizer
        // to spread them: a few nanoseconds for an entry id, where `Hasher` (SipHash) took
        // several times that. Keys made to collide only make the filter answer "maybe" more
        // often, never wrongly.
        var key = key
        var h = key.withUTF8 { b -> UInt64 in
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(b.count)
            var i = 0
            while i + 8 <= b.count {
                h = (h ^ UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: UInt64.self)) &* 0xff51_afd7_ed55_8ccd
                h ^= h >> 32
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < b.count {
                tail |= UInt64(b[i]) << shift
                shift += 8
                i += 1
            }
            return (h ^ tail) &* 0xc4ce_b9fe_1a85_ec53
        }
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        h ^= h >> 31
        // Another kind of the same key: the same word (one cache line for both), other bits.
        var b = h
        if kind != 0 {
            b = (h ^ kind) &* 0x9E37_79B9_7F4A_7C15
            b = (b ^ (b >> 29)) &* 0xbf58_476d_1ce4_e5b9
            b ^= b >> 32
        }
        let bits: UInt64 = 1 << (b >> 58) | 1 << ((b >> 52) & 63) | 1 << ((b >> 46) & 63) | 1 << ((b >> 40) & 63)
        return (Int(truncatingIfNeeded: h) & mask, bits)
    }

    /// `kind` keeps apart keys of different things with the same text (an entry's postings and
    /// its hold row, say): a key inserted with one kind is not thereby in the set with another.
    /// Returns whether the set may have held the key already (`mayContain` before the insert).
    @discardableResult
    public mutating func insert(_ key: String, kind: UInt64 = 0) -> Bool {
        let (i, bits) = probe(key, kind: kind)
        let before = words[i]
        words[i] = before | bits
        return before & bits == bits
    }

    /// False only for a key never inserted with that `kind`.
    public func mayContain(_ key: String, kind: UInt64 = 0) -> Bool {
        let (i, bits) = probe(key, kind: kind)
        return words[i] & bits == bits
    }
}
