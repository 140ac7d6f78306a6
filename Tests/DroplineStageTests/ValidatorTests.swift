import DroplineCore
import DroplineTransform
import DroplineValidate
import Foundation
import Testing

struct ValidatorTests {
    func record(_ fields: FieldMap) -> Record { Record(type: "r", fields: fields, line: 1, ordinal: 1) }
    func rule(_ r: ValidationDefinition.Rule, _ reason: ReasonCode = .invalidField) -> ValidationDefinition {
        ValidationDefinition(record: "r", rule: r, reason: reason)
    }

    @Test func requiredAndConditionalRequired() throws {
        let v = RecordValidator(rules: [rule(.required(fields: ["a"], when: [])), rule(.required(fields: ["c"], when: [("t", "client")]))], lookup: nil)
        #expect(try v.check(record(["a": .string("x")])).isEmpty)
        #expect(try v.check(record([:])).map(\.field) == ["a"])
        #expect(try v.check(record(["a": .string("x"), "t": .string("client")])).map(\.field) == ["c"])
    }

    @Test func patternOneOfRangeDecimals() throws {
        let v = RecordValidator(rules: [
            rule(.pattern(field: "p", regex: "[0-9]{8}")),
            rule(.oneOf(field: "o", values: ["AMER", "EMEA"])),
            rule(.range(field: "h", min: "0", max: "24")),
            rule(.maxDecimals(field: "h", scale: 2)),
        ], lookup: nil)
        let ok = record(["p": .string("00012345"), "o": .string("EMEA"), "h": .decimal(DecimalText.parse("7.50")!, scale: nil)])
        #expect(try v.check(ok).isEmpty)
        let bad = record(["p": .string("0012345"), "o": .string("LATAM"), "h": .decimal(DecimalText.parse("24.125")!, scale: nil)])
        #expect(try v.check(bad).map(\.field) == ["p", "o", "h", "h"])
    }

    @Test func uniqueWithinFileAndCompare() throws {
        let v = RecordValidator(rules: [rule(.unique(fields: ["k"]), .duplicateRecord), rule(.compare(left: "a", op: .le, right: "b"))], lookup: nil)
        let d1 = Value.date(BusinessDate(iso: "2026-12-01")!), d2 = Value.date(BusinessDate(iso: "2026-11-30")!)
        #expect(try v.check(record(["k": .string("1"), "a": d2, "b": d1])).isEmpty)
        #expect(try v.check(record(["k": .string("1"), "a": d1, "b": d2])).map(\.code) == [.duplicateRecord, .invalidField])
        #expect(try v.check(record(["k": .string("2"), "a": d1, "b": .date(.openEnd)])).isEmpty)
    }

    @Test func weekday() throws {
        let v = RecordValidator(rules: [rule(.weekday(field: "w", isoWeekday: 1))], lookup: nil)
        #expect(try v.check(record(["w": .date(BusinessDate(iso: "2026-11-23")!)])).isEmpty)
        #expect(try v.check(record(["w": .date(BusinessDate(iso: "2026-11-24")!)])).count == 1)
    }

    final class Lookup: ReferenceLookup {
        func exists(table: String, columns: [String], values: [String], effective: (date: BusinessDate, fromColumn: String, toColumn: String)?) throws -> Bool {
            guard values == ["PRJ-1"] else { return false }
            if let e = effective { return e.date <= BusinessDate(iso: "2026-12-31")! }
            return true
        }
    }

    @Test func referenceWithEffectiveDating() throws {
        let v = RecordValidator(rules: [rule(.reference(ReferenceRule(table: "projects", match: [("p", "code")], effective: ("d", "start", "end"))), .unknownProject)], lookup: Lookup())
        #expect(try v.check(record(["p": .string("PRJ-1"), "d": .date(BusinessDate(iso: "2026-11-01")!)])).isEmpty)
        #expect(try v.check(record(["p": .string("PRJ-1"), "d": .date(BusinessDate(iso: "2027-01-01")!)])).map(\.code) == [.unknownProject])
        #expect(try v.check(record(["p": .string("PRJ-2"), "d": .date(BusinessDate(iso: "2026-11-01")!)])).map(\.code) == [.unknownProject])
    }
}

struct TransformerTests {
    @Test func deriveMaskDropConstantAndMap() {
        let table = ReferenceTable(version: 1, columns: ["psa_category", "erp_labor_class"], rows: ["billable": ["psa_category": "billable", "erp_labor_class": "LBR-BILL"]])
        let t = RecordTransformer(transforms: [
            .derive(record: "r", field: "display_name", template: Template.parse("{first} {last}")!),
            .mask(record: "r", fields: ["email"]),
            .drop(record: "r", fields: ["first", "last"]),
            .constant(record: "r", field: "company", value: "1000"),
            .map(MapTransform(record: "r", field: "category", referencePath: "/x/categories.yaml", keyColumn: "psa_category", outputs: [("labor_class", "erp_labor_class")], unmappedReason: .unmappedCategory, table: table)),
        ])
        var r = Record(type: "r", fields: ["first": .string("José"), "last": .string("Müller"), "email": .string("a@b.c"), "category": .string("billable")], line: 1, ordinal: 1)
        t.apply(&r)
        #expect(r["display_name"] == .string("José Müller"))
        #expect(r["email"] == .string(SHA256Text.hex("a@b.c")))
        #expect(r["email"].text?.count == 64)
        #expect(r.fields["first"] == nil)
        #expect(r["company"] == .string("1000"))
        #expect(r["labor_class"] == .string("LBR-BILL"))
        var u = Record(type: "r", fields: ["category": .string("overtime")], line: 1, ordinal: 1)
        t.apply(&u)
        #expect(u.issues.map(\.code) == [.unmappedCategory])
    }

    /// A type is changed by a transformer exactly when one of its transforms is for that type:
    /// a record of any other type comes out of `apply` as it went in.
    @Test func changesOnlyTheTypesItHasTransformsFor() {
        let table = ReferenceTable(version: 1, columns: ["k", "v"], rows: ["a": ["k": "a", "v": "1"]])
        let each: [(String, TransformDefinition)] = [
            ("d", .derive(record: "d", field: "x", template: Template.parse("{f}")!)),
            ("m", .mask(record: "m", fields: ["f"])),
            ("p", .drop(record: "p", fields: ["f"])),
            ("c", .constant(record: "c", field: "x", value: "1")),
            ("g", .map(MapTransform(record: "g", field: "f", referencePath: "/x/t.yaml", keyColumn: "k", outputs: [("x", "v")], unmappedReason: .unmappedCategory, table: table))),
        ]
        for (type, transform) in each {
            let t = RecordTransformer(transforms: [transform])
            for other in ["d", "m", "p", "c", "g"] {
                #expect(t.changes(other) == (other == type), "\(type) \(other)")
                var r = Record(type: other, fields: ["f": .string("a")], line: 1, ordinal: 1)
                t.apply(&r)
                let changed = r.fields != ["f": .string("a")] || !r.issues.isEmpty
                #expect(changed == (other == type), "\(type) \(other)")
            }
        }
        #expect(!RecordTransformer(transforms: []).changes("d"))
    }
}
