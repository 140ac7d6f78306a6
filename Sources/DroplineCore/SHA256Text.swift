import Crypto
import Foundation

/// Lower-case hex SHA-256 of text (UTF-8) or bytes.
public enum SHA256Text {
    public static func hex(_ text: String) -> String { hex(Data(text.utf8)) }
    public static func hex(_ data: Data) -> String { hex(digest: SHA256.hash(data: data)) }
    /// Lower-case hex of a finished digest (streaming hashers).
    public static func hex<D: Sequence>(digest: D) -> String where D.Element == UInt8 { digest.map { String(format: "%02x", $0) }.joined() }
}
