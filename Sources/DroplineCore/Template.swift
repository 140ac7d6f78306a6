extension Template {
    /// Parses `"{first_name} {last_name}"` / `"PSA_RESOURCES_{business_date:yyyyMMdd}_{seq:03}.csv"`.
    /// Returns nil on an unbalanced brace.
    public static func parse(_ text: String) -> Template? {
        var parts: [Part] = []
        var literal = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "{" {
                guard let close = text[i...].firstIndex(of: "}") else { return nil }
                let inner = text[text.index(after: i)..<close]
                guard !inner.isEmpty, !inner.contains("{") else { return nil }
                if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
                let pieces = inner.split(separator: ":", maxSplits: 1)
                parts.append(.field(String(pieces[0]), format: pieces.count > 1 ? String(pieces[1]) : nil))
                i = text.index(after: close)
            } else if c == "}" {
                return nil
            } else {
                literal.append(c)
                i = text.index(after: i)
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        return Template(parts: parts, written: text)
    }

    /// Renders with a lookup; a missing field renders empty. Formats: `yyyyMMdd` for dates,
    /// `0N` zero-padding for integers.
    public func render(_ lookup: (String) -> Value) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .field(let name, let format): Self.append(lookup(name), format: format, to: &out)
            }
        }
        return out
    }

    /// Appends a field's value as `render` writes it with `format`.
    public static func append(_ value: Value, format: String?, to out: inout String) {
        switch (format, value) {
        case (nil, .string(let s)): out += s
        case ("yyyyMMdd", .date(let d)): out += d.compact
        case ("yyyyMMdd", .string(let s)): out += BusinessDate(iso: s)?.compact ?? s
        case (let f?, .integer(let n)) where f.hasPrefix("0"):
            out += zeroPad(Int(n), Int(f.dropFirst()) ?? 0)
        default: out += value.text ?? ""
        }
    }
}

/// Glob matching on file names: `*` any run, `?` one character, everything else literal.
public enum Glob {
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern.utf8), s = Array(name.utf8)
        var pi = 0, si = 0, star = -1, mark = 0
        while si < s.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == s[si] {
                pi += 1; si += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi; mark = si; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Whether some file name matches both patterns.
    public static func overlap(_ a: String, _ b: String) -> Bool {
        let p = Array(a.utf8), q = Array(b.utf8)
        var memo = [Int: Bool]()
        func go(_ i: Int, _ j: Int) -> Bool {
            let k = i * (q.count + 1) + j
            if let v = memo[k] { return v }
            memo[k] = false
            let star = UInt8(ascii: "*"), any = UInt8(ascii: "?")
            var r = false
            if i == p.count && j == q.count { r = true }
            if !r, i < p.count, p[i] == star {
                r = go(i + 1, j) || (j < q.count && q[j] != star && go(i, j + 1))
            }
            if !r, j < q.count, q[j] == star {
                r = go(i, j + 1) || (i < p.count && p[i] != star && go(i + 1, j))
            }
            if !r, i < p.count, j < q.count, p[i] != star, q[j] != star,
                p[i] == q[j] || p[i] == any || q[j] == any {
                r = go(i + 1, j + 1)
            }
            memo[k] = r
            return r
        }
        return go(0, 0)
    }
}

/// Run-level values outbound file templates may use besides table columns.
public enum SnapshotFields {
    public static let names = ["business_date", "run_date", "company", "seq", "created_at"]
}
