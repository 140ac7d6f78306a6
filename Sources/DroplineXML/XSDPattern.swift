/// An XML Schema `pattern` facet compiled to a DFA, for `SchemaShortcut`.
/// Supports branches, groups, the quantifiers `? * + {n} {n,} {n,m}`, `.`, character classes
/// with ranges and negation, and the escapes `\n \r \t \s \S \d \D` and escaped metacharacters.
/// Anything else (`\p{..}`, `\i`, `\c`, `\w`, class subtraction, non-ASCII text) does not compile:
/// the caller then leaves the type to libxml2.
/// The automaton reads a value character by character: an ASCII character is its own symbol, and
/// every non-ASCII character is one symbol more, which each set of the pattern holds for all such
/// characters (`.`, `\S`, a negated class of ASCII characters), for none (ASCII characters and
/// ranges, `\s`) or for some only (`\d` and `\D`: XSD's digits are Unicode's). A value is
/// not decided (`matches` returns nil) where its non-ASCII character meets a set of the last kind.
struct XSDPattern {
    /// `transitions[state * symbols + symbol]`: the next state, `dead` or `undecided`.
    let transitions: [UInt16]
    let accepting: [Bool]
    static let dead = UInt16.max
    static let undecided = UInt16.max - 1
    /// The 128 ASCII characters and the symbol of any non-ASCII character.
    static let symbols = 129
    static let beyondASCII = 128
    static let maxNFAStates = 8192
    static let maxDFAStates = 4096

    /// Which non-ASCII characters a set holds.
    enum Beyond { case none, some, all }

    /// ASCII members as two bit masks, and the non-ASCII ones.
    struct CharSet {
        var low: UInt64
        var high: UInt64
        var beyond: Beyond
    }

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

    /// Whether the UTF-8 `bytes` match; nil when a non-ASCII character meets a set that holds
    /// only some of them, or the bytes are not UTF-8.
    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        // Through a buffer pointer: the array's subscript was a call for every character.
        transitions.withUnsafeBufferPointer { matches(bytes, $0) }
    }

    /// The pattern's tables in memory of their own, for `resume`: read through them, a check
    /// takes no reference counting (a copy of the pattern, to call a method of it, retained and
    /// released its tables for every value checked). Freed by its owner (`deallocate`), which
    /// keeps it as long as it lives (`SchemaShortcut.TypeCheck`).
    struct Resumable {
        let transitions: UnsafeMutableBufferPointer<UInt16>
        let accepting: UnsafeMutableBufferPointer<Bool>

        init(_ pattern: XSDPattern) {
            transitions = .allocate(capacity: pattern.transitions.count)
            _ = transitions.initialize(from: pattern.transitions)
            accepting = .allocate(capacity: pattern.accepting.count)
            _ = accepting.initialize(from: pattern.accepting)
        }

        func deallocate() {
            transitions.deallocate()
            accepting.deallocate()
        }

        /// Whether the ASCII `bytes` (at most 16) match, read from byte `from` on, where
        /// `trail[from]` holds the state after the bytes before it (`trail[0]`: the start state,
        /// set here); the state after each byte read is written to `trail` (`trail[i + 1]` after
        /// byte `i`).
        @inline(__always)
        func resume(_ bytes: UnsafeBufferPointer<UInt8>, at from: Int, trail: UnsafeMutablePointer<UInt16>) -> Bool {
            precondition(bytes.count <= 16 && from <= bytes.count)
            trail[0] = 0
            var state = Int(trail[from])
            var i = from
            while i < bytes.count {
                // ASCII only: no symbol is undecided for these.
                let next = transitions[state &* XSDPattern.symbols &+ Int(bytes[i])]
                if next >= XSDPattern.undecided { return false }
                state = Int(next)
                i += 1
                trail[i] = next
            }
            return accepting[state]
        }
    }

    private func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ transitions: UnsafeBufferPointer<UInt16>) -> Bool? {
        var state = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            let symbol: Int
            if b < 128 {
                symbol = Int(b)
                i += 1
            } else {
                // A lead byte and its continuation bytes: one character.
                guard b >= 0xC2, b <= 0xF4 else { return nil }
                let length = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
                guard i + length <= n else { return nil }
                for k in 1..<length where bytes[i + k] & 0xC0 != 0x80 { return nil }
                symbol = Self.beyondASCII
                i += length
            }
            let next = transitions[state &* Self.symbols &+ symbol]
            if next == Self.dead { return false }
            if next == Self.undecided { return nil }
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
            case UInt8(ascii: "d"): return digits
            case UInt8(ascii: "D"): return complement(digits)
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
            var set = CharSet(low: 0, high: 0, beyond: .none)
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
            // ASCII characters that every edge's set holds alike (or leaves out alike) step
            // alike from any state: one of each such class is stepped, its row entry copied to
            // the others. A class of the 128 is a handful for most patterns; stepping all 129
            // symbols made compiling the shipped schemas cost about 170 M instructions a run.
            var classOf = [Int](repeating: 0, count: XSDPattern.symbols)
            var firsts: [Int] = []
            var signatures: [[Bool]: Int] = [:]
            let sets = states.flatMap { $0.edges.map { $0.0 } }
            for symbol in 0..<XSDPattern.beyondASCII {
                let signature = sets.map { contains($0, UInt8(symbol)) }
                if let c = signatures[signature] {
                    classOf[symbol] = c
                } else {
                    signatures[signature] = firsts.count
                    classOf[symbol] = firsts.count
                    firsts.append(symbol)
                }
            }
            // Non-ASCII characters: a class of their own.
            classOf[XSDPattern.beyondASCII] = firsts.count
            firsts.append(XSDPattern.beyondASCII)
            let first = closure([start])
            ids[first] = 0
            order.append(first)
            var i = 0
            while i < order.count {
                let current = order[i]
                accepting.append(current.contains(accept))
                var classRow = [UInt16](repeating: XSDPattern.dead, count: firsts.count)
                for (c, symbol) in firsts.enumerated() {
                    var next = Set<Int>()
                    var decided = true
                    for s in current {
                        for (set, target) in states[s].edges {
                            if symbol < XSDPattern.beyondASCII {
                                if contains(set, UInt8(symbol)) { next.insert(target) }
                            } else {
                                switch set.beyond {
                                case .all: next.insert(target)
                                case .some: decided = false
                                case .none: break
                                }
                            }
                        }
                    }
                    guard decided else {
                        classRow[c] = XSDPattern.undecided
                        continue
                    }
                    guard !next.isEmpty else { continue }
                    let closed = closure(next)
                    if let id = ids[closed] {
                        classRow[c] = UInt16(id)
                    } else {
                        guard order.count < XSDPattern.maxDFAStates else { return nil }
                        ids[closed] = order.count
                        classRow[c] = UInt16(order.count)
                        order.append(closed)
                    }
                }
                transitions += classOf.map { classRow[$0] }
                i += 1
            }
            return (transitions, accepting)
        }
    }
}

// MARK: sets

private let whitespace = charSet([9, 10, 13, 32])

/// XSD's `\d` is Unicode's decimal digits: ASCII's ten and some non-ASCII characters.
private let digits = XSDPattern.CharSet(low: range(48, 57).low, high: 0, beyond: .some)

/// The ASCII characters `bytes`.
private func charSet(_ bytes: [UInt8]) -> XSDPattern.CharSet {
    var s = XSDPattern.CharSet(low: 0, high: 0, beyond: .none)
    for b in bytes where b < 128 {
        if b < 64 { s.low |= 1 << UInt64(b) } else { s.high |= 1 << UInt64(b - 64) }
    }
    return s
}

private func range(_ lo: UInt8, _ hi: UInt8) -> XSDPattern.CharSet {
    guard lo <= hi else { return charSet([]) }
    return charSet(Array(lo...min(hi, 127)))
}

private func union(_ a: XSDPattern.CharSet, _ b: XSDPattern.CharSet) -> XSDPattern.CharSet {
    let beyond: XSDPattern.Beyond = a.beyond == .all || b.beyond == .all ? .all : a.beyond == .some || b.beyond == .some ? .some : .none
    return XSDPattern.CharSet(low: a.low | b.low, high: a.high | b.high, beyond: beyond)
}

private func complement(_ a: XSDPattern.CharSet) -> XSDPattern.CharSet {
    let beyond: XSDPattern.Beyond = switch a.beyond {
    case .none: .all
    case .all: .none
    case .some: .some
    }
    return XSDPattern.CharSet(low: ~a.low, high: ~a.high, beyond: beyond)
}

private func contains(_ s: XSDPattern.CharSet, _ b: UInt8) -> Bool {
    b < 64 ? s.low & (1 << UInt64(b)) != 0 : s.high & (1 << UInt64(b - 64)) != 0
}

private func members(_ s: XSDPattern.CharSet) -> [UInt8] { (0..<128).map(UInt8.init).filter { contains(s, $0) } }
