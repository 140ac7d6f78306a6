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
        var key = key
        return key.withUTF8 { probe($0, kind: kind) }
    }

    @inline(__always)
    func probe(_ b: UnsafeBufferPointer<UInt8>, kind: UInt64) -> (index: Int, bits: UInt64) {
        // The UTF-8 bytes but the last eight at a time, each word multiplied in, then
        // SplitMix64's finalizer to spread them: a few nanoseconds for an entry id, where
        // `Hasher` (SipHash) took several times that. Keys made to collide only make the filter
        // answer "maybe" more often, never wrongly.
        //
        // The key without its last byte picks a block of eight words (one or two cache lines),
        // the whole key the word in it: keys numbered one after another, as an export numbers
        // its entries, then fall ten by ten into one block, and a night's entries touch a
        // block of this table (megabytes for a large night) once every ten entries, not each
        // time. Spread over words at random, the question cost a cache miss per entry: three
        // quarters of its time on the 100 MB night (perf), more than hashing the key.
        let (prefix, last) = Self.split(b)
        let block = Self.mix(prefix)
        var h = Self.mix(prefix ^ last &* 0x9E37_79B9_7F4A_7C15)
        let word = Int(truncatingIfNeeded: block) & mask & ~7 | Int(truncatingIfNeeded: h) & 7
        // Another kind of the same key: the same word, other bits.
        if kind != 0 {
            h = (h ^ kind) &* 0x9E37_79B9_7F4A_7C15
            h = (h ^ (h >> 29)) &* 0xbf58_476d_1ce4_e5b9
            h ^= h >> 32
        }
        let bits: UInt64 = 1 << (h >> 58) | 1 << ((h >> 52) & 63) | 1 << ((h >> 46) & 63) | 1 << ((h >> 40) & 63)
        return (word, bits)
    }

    /// The key's bytes but the last, hashed eight at a time (each word multiplied in), and its
    /// last byte (plus one; 0 for an empty key).
    @inline(__always)
    static func split(_ b: UnsafeBufferPointer<UInt8>) -> (prefix: UInt64, last: UInt64) {
        guard let base = b.baseAddress, b.count > 0 else { return (0, 0) }
        let n = b.count - 1
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
        var i = 0
        while i + 8 <= n {
            h = (h ^ UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) &* 0xff51_afd7_ed55_8ccd
            h ^= h >> 32
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(b[i]) << shift
            shift += 8
            i += 1
        }
        return ((h ^ tail) &* 0xc4ce_b9fe_1a85_ec53, UInt64(b[n]) + 1)
    }

    /// A 64-bit hash of the key, the filter's own: for a list of keys searched by number
    /// (`WriteBehind.isInFlight`), where equal numbers mean "maybe the same key".
    public static func fingerprint(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { b in
            let (prefix, last) = split(b)
            return mix(prefix ^ last &* 0x9E37_79B9_7F4A_7C15)
        }
    }

    /// SplitMix64's finalizer.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var h = (x ^ (x >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }

    /// `kind` keeps apart keys of different things with the same text (an entry's postings and
    /// its hold row, say): a key inserted with one kind is not thereby in the set with another.
    /// Returns whether the set may have held the key already (`mayContain` before the insert).
    @discardableResult
    public mutating func insert(_ key: String, kind: UInt64 = 0) -> Bool {
        var key = key
        return key.withUTF8 { insert(bytes: $0, kind: kind) }
    }

    /// `insert` of the key whose UTF-8 bytes these are, without making it a `String`.
    @discardableResult
    public mutating func insert(bytes key: UnsafeBufferPointer<UInt8>, kind: UInt64 = 0) -> Bool {
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

    /// `mayContain` of the key whose UTF-8 bytes these are.
    public func mayContain(bytes key: UnsafeBufferPointer<UInt8>, kind: UInt64 = 0) -> Bool {
        let (i, bits) = probe(key, kind: kind)
        return words[i] & bits == bits
    }
}

/// A `KeyFilter` that also keeps, for each kind, the greatest key inserted: a key after it
/// was certainly never inserted, whatever the bits say. Exports number their entries onwards,
/// so nearly every entry a night asks about comes after every entry written before it, and the
/// filter's false "maybe" (about one key in 250 at 12 bits a key, each a lookup that waits for
/// the writer's connection) is not asked for it.
///
/// Keys are ordered by their first 32 bytes, then by their length: any total order would do
/// (equal keys are equal in it, so one strictly after the greatest was never inserted), and in
/// this one ids of one length numbered onwards come in order, told apart by a word or two.
public struct OrderedKeyFilter: Sendable {
    var filter: KeyFilter
    /// The greatest key inserted of each kind below `kinds` (index: kind).
    var greatest: [Packed]

    struct Packed: Sendable {
        var words: (UInt64, UInt64, UInt64, UInt64)
        /// The key's length in bytes; `none` before any key.
        var count: Int
        static let none = -1

        /// The first 32 bytes of `b`, big-endian in four words (zeros after the key).
        @inline(__always)
        init(_ b: UnsafeBufferPointer<UInt8>) {
            words = (Self.word(b, 0), Self.word(b, 8), Self.word(b, 16), Self.word(b, 24))
            count = b.count
        }

        init(count: Int) {
            words = (0, 0, 0, 0)
            self.count = count
        }

        /// Bytes `at..<at + 8` of `b` big-endian in a word, zeros past its end.
        @inline(__always)
        static func word(_ b: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt64 {
            let n = b.count - at
            if n >= 8 { return UnsafeRawPointer(b.baseAddress! + at).loadUnaligned(as: UInt64.self).bigEndian }
            var w: UInt64 = 0
            var i = 0
            while i < n {
                w |= UInt64(b[at + i]) << (56 - 8 * UInt64(i))
                i += 1
            }
            return w
        }

        /// Whether the key `b` comes after this one: word by word (most keys told apart by their
        /// first or second), then by length.
        @inline(__always)
        func precedes(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
            var w = Self.word(b, 0)
            if w != words.0 { return w > words.0 }
            w = Self.word(b, 8)
            if w != words.1 { return w > words.1 }
            w = Self.word(b, 16)
            if w != words.2 { return w > words.2 }
            w = Self.word(b, 24)
            if w != words.3 { return w > words.3 }
            return b.count > count
        }
    }

    /// `kinds`: the kinds whose greatest key is kept (0 up to `kinds - 1`); keys of other
    /// kinds are asked of the filter alone.
    public init(expectedKeys: Int, kinds: Int) {
        filter = KeyFilter(expectedKeys: expectedKeys)
        greatest = Array(repeating: Packed(count: Packed.none), count: kinds)
    }

    /// As `KeyFilter.insert`: whether the set may have held the key already.
    @discardableResult
    public mutating func insert(_ key: String, kind: UInt64 = 0) -> Bool {
        var key = key
        return key.withUTF8 { b in
            let k = Int(truncatingIfNeeded: kind)
            guard k >= 0, k < greatest.count else { return filter.insert(bytes: b, kind: kind) }
            let after = after(b, k)
            if after { greatest[k] = Packed(b) }
            return filter.insert(bytes: b, kind: kind) && !after
        }
    }

    /// False only for a key never inserted with that `kind`.
    public func mayContain(_ key: String, kind: UInt64 = 0) -> Bool {
        var key = key
        return key.withUTF8 { b in
            let k = Int(truncatingIfNeeded: kind)
            if k >= 0, k < greatest.count, after(b, k) { return false }
            return filter.mayContain(bytes: b, kind: kind)
        }
    }

    /// Whether the key comes after every key of kind `k` inserted so far.
    @inline(__always)
    func after(_ b: UnsafeBufferPointer<UInt8>, _ k: Int) -> Bool {
        let g = greatest[k]
        return g.count == Packed.none || g.precedes(b)
    }
}
