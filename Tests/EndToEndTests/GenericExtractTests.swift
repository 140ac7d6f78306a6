import DroplineCore
import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// Pipelines written only in YAML: an entity-style export with several record types side by
/// side (each row all attributes) and repeated child elements loaded as child rows carrying
/// their parent's key.
struct GenericExtractTests {
    static let pipeline = """
        format_version: 1
        pipeline: org
        description: entity-style organisation export
        inbox: { pattern: "ORG_*.xml", settle_seconds: 0 }
        extract:
          xml:
            namespaces: { o: "urn:example:org" }
            root: /o:ORG
            header:
              export_id: "@id"
              business_date: { path: "@date", type: date }
            control:
              element: o:END
              totals:
                - { attribute: units, count: unit }
                - { attribute: people, count: person }
                - { attribute: skills, count: skill }
                - { attribute: years, sum: { record: skill, path: "@YEARS" } }
            records:
              unit: { path: /o:ORG/o:UNIT, all_attributes: true, key: [unit_code] }
              person:
                path: /o:ORG/o:PERSON
                key: [person_id]
                fields:
                  person_id: "@ID"
                  unit: "@UNIT"
                  hired: { path: o:HIRED, type: date, format: yyyyMMdd }
                  active: { path: "@ACTIVE", type: boolean, true: "true", false: "false" }
              skill:
                path: /o:ORG/o:PERSON/o:SKILL
                key: [person_id, name]
                fields:
                  person_id: "../@ID"
                  name: "@NAME"
                  years: { path: "@YEARS", type: integer }
        validate:
          - unique: { record: skill, fields: [person_id, name] }
          - reference: { record: person, match: { unit: unit_code }, table: units }
          - range: { record: skill, field: years, min: "0", max: "50" }
        load:
          - table: { record: unit, name: units, key: [unit_code], columns: [unit_code, unit_name, cost_center] }
          - table: { record: person, name: people, key: [person_id] }
          - table: { record: skill, name: skills, key: [person_id, name], mode: insert }

        """

    static let export = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ORG xmlns="urn:example:org" id="ORG-1" date="2026-11-27">
          <UNIT UNIT_CODE="U1" UNIT_NAME="Data &amp; AI" COST_CENTER="CC-1"/>
          <UNIT UNIT_CODE="U2" UNIT_NAME="Cloud" COST_CENTER="CC-2"/>
          <PERSON ID="P1" UNIT="U1" ACTIVE="true"><HIRED>20200301</HIRED>
            <SKILL NAME="sql" YEARS="6"/><SKILL NAME="swift" YEARS="2"/>
          </PERSON>
          <PERSON ID="P2" UNIT="U9" ACTIVE="false"><HIRED>20210101</HIRED><SKILL NAME="go" YEARS="1"/></PERSON>
          <PERSON ID="P3" UNIT="U2" ACTIVE="true"><HIRED>20220101</HIRED>
            <SKILL NAME="k8s" YEARS="3"/><SKILL NAME="k8s" YEARS="4"/><SKILL NAME="cobol" YEARS="99"/>
          </PERSON>
          <END units="2" people="3" skills="6" years="115"/>
        </ORG>

        """

    /// An update of a table no pipeline has created yet finds no row for any record: each is
    /// rejected with the load's missing reason, and the record's other loads are undone.
    @Test func anUpdateOfATableThatDoesNotExistMissesEveryRow() throws {
        let load = "  - table: { record: person, name: people, key: [person_id] }\n"
        let update = "  - update: { record: person, table: unit_heads, match: { unit_code: unit }, set: { head: person_id }, missing_reason: unknown_reference, conflict_reason: duplicate_record }\n"
        #expect(Self.pipeline.contains(load))
        let zone = try Self.zoneWithExport(pipeline: Self.pipeline.replacingOccurrences(of: load, with: load + update))
        let file = try #require(try zone.run(asOf: "2026-11-28").files.first)
        #expect(file.outcome == "loaded", "\(file.message ?? "")")
        // P1 and P3 now miss their unit head row (P2 its unit, as before), and their skills go
        // with them: only the two units load.
        #expect(file.records["loaded"] == 2 && file.records["rejected"] == 9)
        #expect(file.reasons == ["unknown_reference": 9])
        // All or nothing per record: the people rows written before the update missed are gone.
        let db = try DatabaseQueue(path: zone.root + "/warehouse.sqlite")
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM people") } == 0)
    }

    /// A zone whose only pipeline is `pipeline`, with `export` in its inbox.
    static func zoneWithExport(pipeline: String = pipeline) throws -> TemporaryDropZone {
        let dir = NSTemporaryDirectory() + "dropline-org-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try pipeline.write(toFile: dir + "/org.yaml", atomically: true, encoding: .utf8)
        // The zone keeps a copy of the definitions.
        let zone = try TemporaryDropZone(pipelines: dir)
        try zone.drop(data: Data(export.utf8), as: "ORG_20261127_001.xml")
        return zone
    }

    @Test func entityStyleExportWithChildRows() throws {
        let zone = try Self.zoneWithExport()
        let summary = try zone.run(asOf: "2026-11-28")
        let file = try #require(summary.files.first)
        #expect(file.outcome == "loaded", "\(file.message ?? "")")
        // P2's unit is unknown: P2 rejected, and its skill with it (a rejected parent rejects its
        // children). Loaded: 2 units, P1 and P3, 3 skills.
        // P3: the second k8s is a duplicate; cobol's 99 years is out of range.
        #expect(file.records["loaded"] == 7)
        #expect(file.records["rejected"] == 4)
        #expect(file.reasons == ["unknown_reference": 2, "duplicate_record": 1, "invalid_field": 1])
        let db = try DatabaseQueue(path: zone.root + "/warehouse.sqlite")
        func strings(_ sql: String) throws -> [String] { try db.read { try String.fetchAll($0, sql: sql) } }
        #expect(try strings("SELECT unit_name FROM units ORDER BY unit_code") == ["Data & AI", "Cloud"])
        #expect(try strings("SELECT person_id || ':' || hired || ':' || active FROM people ORDER BY person_id") == ["P1:2020-03-01:true", "P3:2022-01-01:true"])
        #expect(try strings("SELECT person_id || '/' || name || '/' || years FROM skills ORDER BY person_id, name") == ["P1/sql/6", "P1/swift/2", "P3/k8s/3"])
        #expect(try strings("SELECT typeof(years) FROM skills LIMIT 1") == ["integer"])
    }

    /// `mode: insert` takes only new keys: a key an earlier file stored rejects the record
    /// (`duplicate_record`, from the table's constraint) and leaves the stored row as it was;
    /// the records around it load.
    @Test func insertOnlyTablesRejectAKeyAnEarlierFileStored() throws {
        let zone = try Self.zoneWithExport()
        _ = try zone.run(asOf: "2026-11-28")
        try zone.drop(data: Data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <ORG xmlns="urn:example:org" id="ORG-2" date="2026-11-28">
              <UNIT UNIT_CODE="U1" UNIT_NAME="Data &amp; AI" COST_CENTER="CC-1"/>
              <PERSON ID="P1" UNIT="U1" ACTIVE="true"><HIRED>20200301</HIRED>
                <SKILL NAME="sql" YEARS="7"/><SKILL NAME="rust" YEARS="1"/>
              </PERSON>
              <END units="1" people="1" skills="2" years="8"/>
            </ORG>

            """.utf8), as: "ORG_20261128_001.xml")
        let summary = try zone.run(asOf: "2026-11-29")
        let file = try #require(summary.files.first)
        #expect(file.records["loaded"] == 3 && file.records["rejected"] == 1)
        #expect(file.reasons == ["duplicate_record": 1])
        let rejects = try #require(zone.files(in: "rejected").first { $0.hasSuffix("ORG_20261128_001.xml.rejects.jsonl") })
        let line = try String(contentsOfFile: zone.root + "/rejected/" + rejects, encoding: .utf8)
        #expect(line.contains("\"key\":\"P1/sql\"") && line.contains("a key not yet in skills"), "\(line)")
        let db = try DatabaseQueue(path: zone.root + "/warehouse.sqlite")
        #expect(try db.read { try String.fetchAll($0, sql: "SELECT name || '/' || years || '/' || _export_id FROM skills WHERE person_id = 'P1' ORDER BY name") } == ["rust/1/ORG-2", "sql/6/ORG-1", "swift/2/ORG-1"])
    }

    /// A `reference` rule with `effective`: the key must have a range valid on the record's date.
    @Test func effectiveReferencesNeedARangeValidOnTheDate() throws {
        // The shipped pipelines, unchanged (the workers table), and one more beside them.
        let dir = try TestPaths.editedPipelines("workers.yaml", replacing: "pipeline: workers", with: "pipeline: workers")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            format_version: 1
            pipeline: visits
            description: client visits by worker
            inbox: { pattern: "VISITS_*.xml", settle_seconds: 0 }
            extract:
              xml:
                root: /VISITS
                header:
                  export_id: "@id"
                  business_date: { path: "@date", type: date }
                control:
                  element: END
                  totals:
                    - { attribute: visits, count: visit }
                records:
                  visit:
                    path: /VISITS/VISIT
                    key: [pernr, date]
                    fields:
                      pernr: "@PERNR"
                      date: { path: "@DATE", type: date }
            validate:
              - reference: { record: visit, match: { pernr: pernr }, table: workers, effective: { date: date, from: valid_from, to: valid_to } }
            load:
              - table: { record: visit, name: visits, key: [pernr, date] }

            """.write(toFile: dir + "/visits.yaml", atomically: true, encoding: .utf8)
        let zone = try TemporaryDropZone(pipelines: dir)
        // 00012345: 2025-03-01..2026-06-30 and from 2026-07-01; 00012346 from 2026-11-25.
        try zone.drop(TestPaths.examples + "/inbound/HR_WORKERS_HRIS01_20261127_001.xml")
        _ = try zone.run(asOf: "2026-11-28")
        try zone.drop(data: Data("""
            <VISITS id="V-1" date="2026-11-28">
              <VISIT PERNR="00012345" DATE="2026-11-27"/>
              <VISIT PERNR="00012346" DATE="2026-11-20"/>
              <VISIT PERNR="00012346" DATE="2026-11-26"/>
              <VISIT PERNR="00099999" DATE="2026-11-27"/>
              <VISIT PERNR="00012345" DATE="2025-01-15"/>
              <VISIT PERNR="00012345" DATE="2026-06-30"/>
              <END visits="6"/>
            </VISITS>

            """.utf8), as: "VISITS_20261128_001.xml")
        let file = try #require(try zone.run(asOf: "2026-11-29").files.first)
        #expect(file.records["loaded"] == 3 && file.records["rejected"] == 3, "\(file.records) \(file.message ?? "")")
        #expect(file.reasons == ["unknown_reference": 3])
        let db = try DatabaseQueue(path: zone.root + "/warehouse.sqlite")
        #expect(try db.read { try String.fetchAll($0, sql: "SELECT pernr || ' ' || date FROM visits ORDER BY pernr, date") } == ["00012345 2026-06-30", "00012345 2026-11-27", "00012346 2026-11-26"])
    }

    @Test func allAttributesRecordsNeedColumns() throws {
        let dir = NSTemporaryDirectory() + "dropline-org-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.pipeline.replacingOccurrences(of: ", columns: [unit_code, unit_name, cost_center]", with: "").write(toFile: dir + "/org.yaml", atomically: true, encoding: .utf8)
        #expect {
            try PipelineLoader().load(file: dir + "/org.yaml")
        } throws: { error in
            (error as? DefinitionError)?.diagnostics.first?.message.contains("needs 'columns:'") == true
        }
    }
}
