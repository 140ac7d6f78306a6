import Crypto
import Foundation

/// Lower-case hex SHA-256 of text (UTF-8) or bytes.
public enum SHA256Text {
    public static func hex(_ text: String) -> String { hex(Data(text.utf8)) }
    public static func hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
}
