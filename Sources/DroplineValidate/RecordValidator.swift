import DroplineCore
import Foundation

/// Runs a pipeline's validation rules on one record and returns every failed check in rule
/// order. Holds per-file state (uniqueness), so use one validator per input file.
public final class RecordValidator {
    let rules: [ValidationDefinition]
    let lookup: (any ReferenceLookup)?
    var seen: [Int: Set<[String]>] = [:]
    var regexes: [Int: NSRegularExpression] = [:]

    public init(rules: [ValidationDefinition], lookup: (any ReferenceLookup)?) {
        self.rules = rules
        self.lookup = lookup
        for (i, r) in rules.enumerated() {
            if case .pattern(_, let re) = r.rule { regexes[i] = try? NSRegularExpression(pattern: "^(?:" + re + ")$") }
        }
    }

    public func check(_ record: Record) throws -> [RecordIssue] {
        var issues: [RecordIssue] = []
        for (i, v) in rules.enumerated() where v.record == record.type {
            if let issue = try check(i, v, record) { issues.append(issue) }
        }
        return issues
    }

    func check(_ index: Int, _ v: ValidationDefinition, _ record: Record) throws -> RecordIssue? {
        func issue(_ field: String?, _ expected: String, _ actual: String?, _ hint: String? = nil) -> RecordIssue {
            RecordIssue(code: v.reason, field: field, expected: expected, actual: actual, hint: hint ?? "correct the value and resubmit")
        }
        switch v.rule {
        case .required(let fields, let when):
            guard when.allSatisfy({ record[$0.field].text == $0.value }) else { return nil }
            let condition = when.isEmpty ? "" : " when " + when.map { "\($0.field) is \($0.value)" }.joined(separator: " and ")
            for f in fields where record[f].isNull {
                return issue(f, "a value" + condition, nil, "fill in \(f)")
            }
            return nil
        case .pattern(let f, let re):
            guard let text = record[f].text, let regex = regexes[index] else { return nil }
            let range = NSRange(text.startIndex..., in: text)
            return regex.firstMatch(in: text, range: range) == nil ? issue(f, "matches \(re)", text) : nil
        case .oneOf(let f, let values):
            guard let text = record[f].text else { return nil }
            return values.contains(text) ? nil : issue(f, "one of \(values.joined(separator: ", "))", text)
        case .range(let f, let lo, let hi):
            let value = record[f]
            guard !value.isNull else { return nil }
            let expected = [lo.map { ">= \($0)" }, hi.map { "<= \($0)" }].compactMap { $0 }.joined(separator: " and ")
            if let lo, let bound = Self.bound(lo, like: value), value < bound { return issue(f, expected, value.text) }
            if let hi, let bound = Self.bound(hi, like: value), bound < value { return issue(f, expected, value.text) }
            return nil
        case .maxDecimals(let f, let scale):
            guard let d = record[f].decimal else { return nil }
            return DecimalText.significantScale(d) > scale ? issue(f, "at most \(scale) decimals", record[f].text) : nil
        case .unique(let fields):
            let key = fields.map { record[$0].text ?? "" }
            if seen[index, default: []].insert(key).inserted { return nil }
            return issue(fields.joined(separator: "+"), "unique within the file", key.joined(separator: "/"), "remove the repeated record")
        case .compare(let a, let op, let b):
            let x = record[a], y = record[b]
            guard !x.isNull, !y.isNull else { return nil }
            return op.holds(x, y) ? nil : issue(a, "\(a) \(op.rawValue) \(b)", "\(x.text ?? "") vs \(y.text ?? "")")
        case .weekday(let f, let day):
            guard let d = record[f].date else { return nil }
            let names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
            return d.isoWeekday == day ? nil : issue(f, "a \(names[day - 1])", d.iso)
        case .reference(let rule):
            guard let lookup else { return nil }
            let values = rule.match.map { record[$0.field].text }
            guard values.allSatisfy({ $0 != nil }) else { return nil }
            var effective: (BusinessDate, String, String)?
            if let e = rule.effective {
                guard let d = record[e.dateField].date else { return nil }
                effective = (d, e.fromColumn, e.toColumn)
            }
            let found = try lookup.exists(table: rule.table, columns: rule.match.map(\.column), values: values.map { $0! }, effective: effective)
            return found ? nil : issue(rule.match.map(\.field).joined(separator: "+"), "an existing \(rule.table) entry" + (effective != nil ? " valid on the date" : ""), values.map { $0! }.joined(separator: "/"), "load the master data first, or correct the value")
        }
    }

    /// Reads a bound written in YAML as the same kind of value as the field.
    static func bound(_ text: String, like value: Value) -> Value? {
        switch value {
        case .decimal: DecimalText.parse(text).map { .decimal($0, scale: nil) }
        case .integer: Int64(text).map(Value.integer)
        case .date: BusinessDate(iso: text).map(Value.date)
        default: .string(text)
        }
    }
}
