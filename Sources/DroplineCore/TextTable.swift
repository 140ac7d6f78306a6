/// A read-only `[String: Value]` whose keys are mostly codes (a project, a category, a role and
/// region: short ASCII text), looked up once or more for every entry of a night. A short ASCII
/// key is found by its bytes (`ShortBytes(smallString:)`) in an open-addressed table, hashed by two
/// multiplications; a `Dictionary` hashed the key with SipHash and compared it in the runtime,
/// about 350 instructions a lookup.
///
/// Answers exactly as the dictionary it is made from: any other key (longer, non-ASCII) is
/// looked up in that dictionary, and so is a short ASCII key the table lacks when some key of
/// the dictionary is not short ASCII (`String` equality is canonical: a non-ASCII key such as
/// U+212A KELVIN SIGN equals the ASCII "K").
public struct TextTable<Value>: @unchecked Sendable {
    /// Every entry, as given.
    public let dictionary: [String: Value]
    /// Per slot: 0 empty, else 1 + the index of its key in `keys` and `values`.
    private let slots: [Int32]
    private let keys: [ShortBytes]
    private let values: [Value]
    private let shift: UInt64
    /// Whether some key is not short ASCII (a miss in the table is then asked of `dictionary`).
    private let othersExist: Bool

    public init(_ dictionary: [String: Value]) {
        self.dictionary = dictionary
        var keys: [ShortBytes] = []
        var values: [Value] = []
        var othersExist = false
        for (key, value) in dictionary {
            guard let k = Self.shortASCII(key) else {
                othersExist = true
                continue
            }
            keys.append(k)
            values.append(value)
        }
        // At most half full: a miss ends at the first empty slot, mostly the first or second.
        var bits: UInt64 = 1
        while (1 << bits) < 2 * max(keys.count, 1) { bits += 1 }
        let shift = 64 - bits
        var slots = [Int32](repeating: 0, count: 1 << bits)
        for (i, k) in keys.enumerated() {
            var s = Int(truncatingIfNeeded: Self.hash(k) >> shift)
            while slots[s] != 0 { s = (s + 1) & (slots.count - 1) }
            slots[s] = Int32(i + 1)
        }
        self.slots = slots
        self.keys = keys
        self.values = values
        self.shift = shift
        self.othersExist = othersExist
    }

    public subscript(key: String) -> Value? {
        guard let k = Self.shortASCII(key) else { return dictionary[key] }
        var s = Int(truncatingIfNeeded: Self.hash(k) >> shift)
        let mask = slots.count - 1
        while true {
            let i = Int(slots[s])
            if i == 0 { return othersExist ? dictionary[key] : nil }
            if keys[i - 1] == k { return values[i - 1] }
            s = (s + 1) & mask
        }
    }

    public var count: Int { dictionary.count }

    /// The bytes of a small ASCII string, nil for any other.
    @inline(__always)
    static func shortASCII(_ key: String) -> ShortBytes? {
        guard let k = ShortBytes(smallString: key), k.isASCII else { return nil }
        return k
    }

    @inline(__always)
    static func hash(_ k: ShortBytes) -> UInt64 {
        (k.words.0 &* 0x9E37_79B9_7F4A_7C15 ^ k.words.1 ^ UInt64(k.count)) &* 0xC2B2_AE3D_27D4_EB4F
    }
}
