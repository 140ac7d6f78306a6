import Crypto
import Foundation

/// Lower-case hex SHA-256 of text (UTF-8) or bytes.
public enum SHA256Text {
    /// Hashed from the string's own UTF-8 bytes (a `Data` of them was an allocation and a copy
    /// for every value masked).
    public static func hex(_ text: String) -> String {
        var text = text
        return text.withUTF8 { hex(digest: SHA256.hash(data: UnsafeRawBufferPointer($0))) }
    }
    public static func hex(_ data: Data) -> String { hex(digest: SHA256.hash(data: data)) }
    /// Lower-case hex of a finished digest (streaming hashers), from its bytes in place.
    public static func hex(digest: SHA256.Digest) -> String {
        digest.withUnsafeBytes { hex(bytes: $0) }
    }

    /// Lower-case hex of `bytes`, written into the string's storage.
    public static func hex(bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, byte) in bytes.enumerated() {
                out[2 * i] = digit(byte >> 4)
                out[2 * i + 1] = digit(byte & 0x0F)
            }
            return bytes.count * 2
        }
    }

    @inline(__always)
    static func digit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }
}
