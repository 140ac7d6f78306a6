import DroplineCore
import Foundation

/// Applies a pipeline's transforms to one record, in declared order: governed mappings, derived
/// and constant fields, SHA-256 masking of personal data, dropped fields.
public struct RecordTransformer: Sendable {
    let transforms: [TransformDefinition]

    public init(transforms: [TransformDefinition]) { self.transforms = transforms }

    /// Whether some transform applies to records of `type` (false: `apply` leaves them as they are).
    public func changes(_ type: String) -> Bool {
        transforms.contains { t in
            switch t {
            case .map(let m): m.record == type
            case .derive(let rec, _, _), .constant(let rec, _, _), .mask(let rec, _), .drop(let rec, _): rec == type
            }
        }
    }

    public func apply(_ record: inout Record) {
        for t in transforms {
            switch t {
            case .map(let m) where m.record == record.type:
                let key = record[m.field].text
                if let key, let row = m.table.rows[key] {
                    for (field, column) in m.outputs { record[field] = row[column].map(Value.string) ?? .null }
                } else {
                    for (field, _) in m.outputs { record[field] = .null }
                    if let reason = m.unmappedReason, key != nil {
                        record.issues.append(RecordIssue(code: reason, field: m.field, expected: "a value in \(URL(fileURLWithPath: m.referencePath).lastPathComponent) (version \(m.table.version))", actual: key, hint: "use a mapped value, or ask for the mapping to be extended"))
                    }
                }
            case .derive(let rec, let field, let template) where rec == record.type:
                let r = record
                record[field] = .string(template.render { r[$0] })
            case .constant(let rec, let field, let value) where rec == record.type:
                record[field] = .string(value)
            case .mask(let rec, let fields) where rec == record.type:
                for f in fields {
                    guard let text = record[f].text else { continue }
                    record[f] = .string(SHA256Text.hex(text))
                }
            case .drop(let rec, let fields) where rec == record.type:
                for f in fields { record.fields.removeValue(forKey: f) }
            default:
                continue
            }
        }
    }
}
