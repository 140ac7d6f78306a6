extension PipelineDefinition {
    /// The fields a record type has after all transforms, in order, with their extracted type
    /// (nil for derived, constant and mapped fields, which are text).
    public func fieldShape(of recordName: String) -> [(name: String, type: FieldType?)] {
        guard let rec = record(named: recordName) else { return [] }
        var out: [(String, FieldType?)] = rec.fields.map { ($0.name, $0.type) }
        func add(_ f: String) { if !out.contains(where: { $0.0 == f }) { out.append((f, nil)) } }
        for t in transforms {
            switch t {
            case .map(let m) where m.record == recordName: m.outputs.forEach { add($0.field) }
            case .derive(let r, let f, _) where r == recordName: add(f)
            case .constant(let r, let f, _) where r == recordName: add(f)
            case .drop(let r, let fs) where r == recordName: out.removeAll { fs.contains($0.0) }
            default: break
            }
        }
        return out
    }
}
