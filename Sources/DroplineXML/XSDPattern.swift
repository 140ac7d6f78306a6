/// An XML Schema `pattern` facet compiled to a DFA over ASCII, for `SchemaShortcut`.
/// Supports branches, groups, the quantifiers `? * + {n} {n,} {n,m}`, `.`, character classes
/// with ranges and negation, and the escapes `\n \r \t \s \S \d \D` and escaped metacharacters.
/// Anything else (`\p{..}`, `\i`, `\c`, `\w`, class subtraction, non-ASCII text) does not compile:
/// the caller then leaves the type to libxml2. A value with a non-ASCII byte is not decided
/// either (`matches` returns nil), since `\d` and `.` reach beyond ASCII in XSD.
struct XSDPattern {
    /// `transitions[state * 128 + byte]`: the next state, or `dead`.
    let transitions: [UInt16]
    let accepting: [Bool]
    static let dead = UInt16.max
    static let maxNFAStates = 8192
    static let maxDFAStates = 4096

    typealias CharSet = (UInt64, UInt64)

    init?(_ pattern: String) {
        guard pattern.unicodeScalars.allSatisfy(\.isASCII) else { return nil }
        var parser = Parser(bytes: Array(pattern.utf8))
        guard let ast = parser.parseRegex(), parser.at == parser.bytes.count else { return nil }
        var nfa = NFA()
        let start = nfa.add()
        let end = nfa.add()
        guard nfa.build(ast, from: start, to: end), nfa.states.count <= Self.maxNFAStates else { return nil }
        guard let dfa = nfa.determinize(start: start, accept: end) else { return nil }
        transitions = dfa.transitions
        accepting = dfa.accepting
    }

    /// True or false for an ASCII value; nil when it has a non-ASCII byte.
    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        var state = 0
        for b in bytes {
            guard b < 128 else { return nil }
            let next = transitions[state &* 128 &+ Int(b)]
            if next == Self.dead { return false }
            state = Int(next)
        }
        return accepting[state]
    }

    // MARK: syntax

    indirect enum Node {
        case set(CharSet)
        case sequence([Node])
        case alternation([Node])
        case repeated(Node, min: Int, max: Int?)
    }

    struct Parser {
        let bytes: [UInt8]
        var at = 0

        mutating func peek() -> UInt8? { at < bytes.count ? bytes[at] : nil }

        mutating func parseRegex() -> Node? {
            var branches: [Node] = []
            while true {
                guard let b = parseBranch() else { return nil }
                branches.append(b)
                if peek() == UInt8(ascii: "|") { at += 1 } else { break }
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        mutating func parseBranch() -> Node? {
            var pieces: [Node] = []
            while let c = peek(), c != UInt8(ascii: "|"), c != UInt8(ascii: ")") {
                guard let atom = parseAtom() else { return nil }
                guard let piece = parseQuantifier(atom) else { return nil }
                pieces.append(piece)
            }
            return .sequence(pieces)
        }

        mutating func parseQuantifier(_ atom: Node) -> Node? {
            switch peek() {
            case UInt8(ascii: "?"): at += 1; return .repeated(atom, min: 0, max: 1)
            case UInt8(ascii: "*"): at += 1; return .repeated(atom, min: 0, max: nil)
            case UInt8(ascii: "+"): at += 1; return .repeated(atom, min: 1, max: nil)
            case UInt8(ascii: "{"):
                at += 1
                guard let low = number() else { return nil }
                var high: Int? = low
                if peek() == UInt8(ascii: ",") {
                    at += 1
                    high = peek() == UInt8(ascii: "}") ? nil : number()
                    if high == nil && peek() != UInt8(ascii: "}") { return nil }
                }
                guard peek() == UInt8(ascii: "}") else { return nil }
                at += 1
                if let high, high < low { return nil }
                guard low <= 1000, (high ?? 0) <= 1000 else { return nil }
                return .repeated(atom, min: low, max: high)
            default: return atom
            }
        }

        mutating func number() -> Int? {
            var v = 0
            let start = at
            while let c = peek(), c >= 48, c <= 57, at - start < 6 {
                v = v * 10 + Int(c - 48)
                at += 1
            }
            return at > start ? v : nil
        }

        mutating func parseAtom() -> Node? {
            guard let c = peek() else { return nil }
            at += 1
            switch c {
            case UInt8(ascii: "("):
                guard let inner = parseRegex(), peek() == UInt8(ascii: ")") else { return nil }
                at += 1
                return inner
            case UInt8(ascii: "["): return parseClass().map(Node.set)
            case UInt8(ascii: "."): return .set(complement(charSet([10, 13])))
            case UInt8(ascii: "\\"): return parseEscape().map(Node.set)
            case UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ")"):
                return nil
            default: return .set(charSet([c]))
            }
        }

        /// After a backslash: a class escape or an escaped character.
        mutating func parseEscape() -> CharSet? {
            guard let c = peek() else { return nil }
            at += 1
            switch c {
            case UInt8(ascii: "n"): return charSet([10])
            case UInt8(ascii: "r"): return charSet([13])
            case UInt8(ascii: "t"): return charSet([9])
            case UInt8(ascii: "s"): return whitespace
            case UInt8(ascii: "S"): return complement(whitespace)
            case UInt8(ascii: "d"): return range(48, 57)
            case UInt8(ascii: "D"): return complement(range(48, 57))
            default:
                // Single-character escapes of XSD: \ | . - ^ ? * + { } ( ) [ ]
                return Array("\\|.-^?*+{}()[]".utf8).contains(c) ? charSet([c]) : nil
            }
        }

        mutating func parseClass() -> CharSet? {
            var negated = false
            if peek() == UInt8(ascii: "^") {
                negated = true
                at += 1
            }
            var set: CharSet = (0, 0)
            var items = 0
            while let c = peek(), c != UInt8(ascii: "]") {
                items += 1
                // Class subtraction ("-[") is not supported.
                if c == UInt8(ascii: "-"), at + 1 < bytes.count, bytes[at + 1] == UInt8(ascii: "[") { return nil }
                guard let low = classChar() else { return nil }
                if case .set(let s) = low {
                    set = union(set, s)
                    continue
                }
                guard case .char(let lo) = low else { return nil }
                if peek() == UInt8(ascii: "-"), at + 1 < bytes.count, bytes[at + 1] != UInt8(ascii: "]") {
                    at += 1
                    guard case .char(let hi)? = classChar(), hi >= lo else { return nil }
                    set = union(set, range(lo, hi))
                } else {
                    set = union(set, charSet([lo]))
                }
            }
            guard items > 0, peek() == UInt8(ascii: "]") else { return nil }
            at += 1
            return negated ? complement(set) : set
        }

        enum ClassItem {
            case char(UInt8)
            case set(CharSet)
        }

        mutating func classChar() -> ClassItem? {
            guard let c = peek() else { return nil }
            at += 1
            if c == UInt8(ascii: "\\") {
                guard let e = peek() else { return nil }
                switch e {
                case UInt8(ascii: "s"), UInt8(ascii: "S"), UInt8(ascii: "d"), UInt8(ascii: "D"):
                    return parseEscape().map(ClassItem.set)
                default:
                    guard let s = parseEscape(), let only = members(s).first, members(s).count == 1 else { return nil }
                    return .char(only)
                }
            }
            if c == UInt8(ascii: "[") { return nil }
            return .char(c)
        }
    }

    // MARK: automata

    struct NFA {
        var states: [(epsilon: [Int], edges: [(CharSet, Int)])] = []

        mutating func add() -> Int {
            states.append(([], []))
            return states.count - 1
        }

        /// Wires `node` between `from` and `to`; false once the automaton grows too large.
        mutating func build(_ node: Node, from: Int, to: Int) -> Bool {
            guard states.count <= XSDPattern.maxNFAStates else { return false }
            switch node {
            case .set(let s):
                states[from].edges.append((s, to))
            case .sequence(let parts):
                var current = from
                for (i, p) in parts.enumerated() {
                    let next = i == parts.count - 1 ? to : add()
                    guard build(p, from: current, to: next) else { return false }
                    current = next
                }
                if parts.isEmpty { states[from].epsilon.append(to) }
            case .alternation(let branches):
                for b in branches {
                    let s = add()
                    states[from].epsilon.append(s)
                    guard build(b, from: s, to: to) else { return false }
                }
            case .repeated(let inner, let low, let high):
                var current = from
                for _ in 0..<low {
                    let next = add()
                    guard build(inner, from: current, to: next) else { return false }
                    current = next
                }
                if let high {
                    for _ in low..<high {
                        let next = add()
                        guard build(inner, from: current, to: next) else { return false }
                        states[current].epsilon.append(to)
                        current = next
                    }
                    states[current].epsilon.append(to)
                } else {
                    let loop = add()
                    states[current].epsilon.append(loop)
                    let back = add()
                    guard build(inner, from: loop, to: back) else { return false }
                    states[back].epsilon.append(loop)
                    states[loop].epsilon.append(to)
                }
            }
            return true
        }

        func closure(_ set: Set<Int>) -> Set<Int> {
            var out = set
            var stack = Array(set)
            while let s = stack.popLast() {
                for e in states[s].epsilon where out.insert(e).inserted { stack.append(e) }
            }
            return out
        }

        func determinize(start: Int, accept: Int) -> (transitions: [UInt16], accepting: [Bool])? {
            var ids: [Set<Int>: Int] = [:]
            var order: [Set<Int>] = []
            var transitions: [UInt16] = []
            var accepting: [Bool] = []
            let first = closure([start])
            ids[first] = 0
            order.append(first)
            var i = 0
            while i < order.count {
                let current = order[i]
                accepting.append(current.contains(accept))
                var row = [UInt16](repeating: XSDPattern.dead, count: 128)
                for byte in 0..<128 {
                    var next = Set<Int>()
                    for s in current {
                        for (set, target) in states[s].edges where contains(set, UInt8(byte)) { next.insert(target) }
                    }
                    guard !next.isEmpty else { continue }
                    let closed = closure(next)
                    if let id = ids[closed] {
                        row[byte] = UInt16(id)
                    } else {
                        guard order.count < XSDPattern.maxDFAStates else { return nil }
                        ids[closed] = order.count
                        row[byte] = UInt16(order.count)
                        order.append(closed)
                    }
                }
                transitions += row
                i += 1
            }
            return (transitions, accepting)
        }
    }
}

// MARK: ASCII sets

private let whitespace = charSet([9, 10, 13, 32])

private func charSet(_ bytes: [UInt8]) -> XSDPattern.CharSet {
    var s: XSDPattern.CharSet = (0, 0)
    for b in bytes where b < 128 {
        if b < 64 { s.0 |= 1 << UInt64(b) } else { s.1 |= 1 << UInt64(b - 64) }
    }
    return s
}

private func range(_ lo: UInt8, _ hi: UInt8) -> XSDPattern.CharSet {
    guard lo <= hi else { return (0, 0) }
    return charSet(Array(lo...min(hi, 127)))
}

private func union(_ a: XSDPattern.CharSet, _ b: XSDPattern.CharSet) -> XSDPattern.CharSet { (a.0 | b.0, a.1 | b.1) }

private func complement(_ a: XSDPattern.CharSet) -> XSDPattern.CharSet { (~a.0, ~a.1) }

private func contains(_ s: XSDPattern.CharSet, _ b: UInt8) -> Bool {
    b < 64 ? s.0 & (1 << UInt64(b)) != 0 : s.1 & (1 << UInt64(b - 64)) != 0
}

private func members(_ s: XSDPattern.CharSet) -> [UInt8] { (0..<128).map(UInt8.init).filter { contains(s, $0) } }
