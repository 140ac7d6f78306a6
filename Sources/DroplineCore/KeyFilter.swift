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
    func probe(_ key: String) -> (index: Int, bits: UInt64) {
        var hasher = Hasher()
        hasher.combine(key)
        let h = UInt64(bitPattern: Int64(hasher.finalize()))
        let bits: UInt64 = 1 << (h >> 58) | 1 << ((h >> 52) & 63) | 1 << ((h >> 46) & 63) | 1 << ((h >> 40) & 63)
        return (Int(truncatingIfNeeded: h) & mask, bits)
    }

    public mutating func insert(_ key: String) {
        let (i, bits) = probe(key)
        words[i] |= bits
    }

    /// False only for a key never inserted.
    public func mayContain(_ key: String) -> Bool {
        let (i, bits) = probe(key)
        return words[i] & bits == bits
    }
}
