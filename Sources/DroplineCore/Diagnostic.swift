/// A definition (lint) problem: `file:line:column: error: message [code]` plus a hint.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unknownKey = "unknown_key"
        case missingKey = "missing_key"
        case wrongType = "wrong_type"
        case invalidValue = "invalid_value"
        case unknownStage = "unknown_stage"
        case badPath = "bad_path"
        case missingFile = "missing_file"
        case patternOverlap = "pattern_overlap"
        case dependencyCycle = "dependency_cycle"
        case unknownPipeline = "unknown_pipeline"
        case unknownField = "unknown_field"
        case yamlSyntax = "yaml_syntax"
        case anchorsForbidden = "anchors_forbidden"
        case tooLarge = "too_large"
        case duplicate = "duplicate"
        case unsupportedVersion = "unsupported_version"
    }

    public var file: String
    public var line: Int
    public var column: Int
    public var code: Code
    public var message: String
    public var hint: String?

    public init(file: String, line: Int, column: Int, code: Code, message: String, hint: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.code = code
        self.message = message
        self.hint = hint
    }

    /// For a check made after loading, where the definition no longer has its YAML marks: the
    /// place of `text` in the file when it stands there exactly once as a whole word (not inside
    /// a longer name), else 1:1.
    public init(file: String, locating text: String, code: Code, message: String, hint: String? = nil) {
        var place = (line: 1, column: 1)
        func isName(_ c: Character?) -> Bool { c.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false }
        var found: [Range<String.Index>] = []
        let source = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        var from = source.startIndex
        while !text.isEmpty, let r = source.range(of: text, range: from..<source.endIndex) {
            let before = r.lowerBound > source.startIndex ? source[source.index(before: r.lowerBound)] : nil
            if !(isName(text.first) && isName(before)) && !(isName(text.last) && isName(r.upperBound < source.endIndex ? source[r.upperBound] : nil)) { found.append(r) }
            from = r.upperBound
        }
        if found.count == 1, let first = found.first {
            let before = source[..<first.lowerBound]
            let lineStart = before.lastIndex(of: "\n").map { before.index(after: $0) } ?? before.startIndex
            place = (before.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }, before.distance(from: lineStart, to: before.endIndex) + 1)
        }
        self.init(file: file, line: place.line, column: place.column, code: code, message: message, hint: hint)
    }

    public var description: String {
        var text = "\(file):\(line):\(column): error: \(message) [\(code.rawValue)]"
        if let hint { text += "\n    hint: \(hint)" }
        return text
    }
}

/// Thrown when definitions do not load; carries every diagnostic found.
public struct DefinitionError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Levenshtein distance based suggestion, as argument-parser does for options.
public enum Suggestion {
    public static func closest(to word: String, in candidates: [String]) -> String? {
        var best: (String, Int)?
        for c in candidates {
            let d = distance(word, c)
            if d <= max(2, word.count / 3), d < (best?.1 ?? .max) { best = (c, d) }
        }
        return best?.0
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
