extension Array where Element == UInt8 {
    /// Appends a literal's UTF-8 bytes (for text written byte by byte).
    @inlinable
    public mutating func append(_ text: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
