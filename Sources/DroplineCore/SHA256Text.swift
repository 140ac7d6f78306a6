import Crypto
import Foundation

/// Lower-case hex SHA-256 of text (UTF-8) or bytes.
public enum SHA256Text {
    public static func hex(_ text: String) -> String { hex(Data(text.utf8)) }
    public static func hex(_ data: Data) -> String { hex(digest: SHA256.hash(data: data)) }
    /// Lower-case hex of a finished digest (streaming hashers).
    public static func hex<D: Sequence>(digest: D) -> String where D.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let digits = Array("0123456789abcdef".utf8)
}
