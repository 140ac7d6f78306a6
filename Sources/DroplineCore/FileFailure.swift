/// A whole-file failure: the file is quarantined with this reason and nothing from it loads.
public struct FileFailure: Error, Sendable, Codable, Equatable {
    public var code: ReasonCode
    public var message: String
    public var line: Int?
    public var column: Int?
    public var byteOffset: Int?

    public init(_ code: ReasonCode, _ message: String, line: Int? = nil, column: Int? = nil, byteOffset: Int? = nil) {
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.byteOffset = byteOffset
    }

    /// `place: code: message`, for operators.
    public var summary: String {
        var place = ""
        if let line { place = "line \(line)" + (column.map { ":\($0)" } ?? "") + ": " }
        else if let byteOffset { place = "byte \(byteOffset): " }
        return "\(place)\(code.rawValue): \(message)"
    }
}
