/// Read access to stored master data, for reference checks during validation. Implemented by
/// the warehouse store; tests can pass an in-memory one.
public protocol ReferenceLookup {
    /// Whether a row matches all `columns == values`; with `effective`, whose
    /// `[fromColumn, toColumn]` range also contains `date`.
    func exists(table: String, columns: [String], values: [String], effective: (date: BusinessDate, fromColumn: String, toColumn: String)?) throws -> Bool
}
