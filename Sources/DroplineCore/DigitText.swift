/// Fixed-width decimal numbers in text read in place (dates, times, offsets): a digit is a byte
/// whose distance from `0` is below 10, one comparison.
public enum DigitText {
    /// The number the `count` bytes from `start` write, if they are all digits (and in `bytes`).
    @inline(__always)
    public static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        guard start >= 0, count <= bytes.count - start else { return nil }
        var value = 0
        for i in start..<(start + count) {
            let digit = bytes[i] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }
}
