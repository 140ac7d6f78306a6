import DroplineCore
import DroplineTesting
import DroplineXML
import Foundation
import Testing

/// A field path that names an element or attribute the interface schema does not allow there
/// matches nothing, and reads as missing in every record: lint says where, instead of loading a
/// column of nulls. What the schema leaves open (xs:any) is not judged.
struct SchemaOutlineTests {
    /// The shipped pipelines, one of them edited, loaded and checked against their schemas.
    func diagnostics(_ file: String, _ from: String, _ to: String) throws -> [Diagnostic] {
        let dir = try TestPaths.editedPipelines(file, replacing: from, with: to)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try PipelineLoader().loadAll(directory: dir).flatMap(SchemaOutline.diagnostics(for:))
    }

    @Test func theShippedPipelinesNameOnlyWhatTheirSchemasAllow() throws {
        let definitions = try PipelineLoader().loadAll(directory: TestPaths.pipelines)
        #expect(definitions.allSatisfy { $0.extract.schemaPath != nil })
        #expect(definitions.flatMap(SchemaOutline.diagnostics(for:)).isEmpty)
    }

    @Test(arguments: [
        ("workers.yaml", "manager_pernr: MANAGER_PERNR", "manager_pernr: MANAGR_PERNR", "record 'worker' field 'manager_pernr': 'MANAGR_PERNR' names an element MANAGR_PERNR that hr-workers.xsd does not allow there, so it would read as missing in every record"),
        ("workers.yaml", "action: \"@ACTION\"", "action: \"@ACTON\"", "record 'worker' field 'action': '@ACTON' names an attribute @ACTON that hr-workers.xsd does not allow there, so it would read as missing in every record"),
        ("workers.yaml", "path: /WORKER_EXPORT/WORKER\n", "path: /WORKER_EXPORT/WORKERS\n", "record 'worker': path /WORKER_EXPORT/WORKERS names an element WORKERS that hr-workers.xsd does not allow there"),
        ("workers.yaml", "element: TRAILER", "element: TRAILR", "control: 'TRAILR' names an element TRAILR that hr-workers.xsd does not allow there, so every file would lack its trailer"),
        ("workers.yaml", "generated_at: { path: \"@GENERATED\"", "generated_at: { path: \"@GENERATE\"", "header field 'generated_at': '@GENERATE' names an attribute @GENERATE that hr-workers.xsd does not allow there, so it would read as missing in every record"),
        ("time_entries.yaml", "worker: \"../@worker\"", "worker: \"../@workr\"", "record 'entry' field 'worker': '../@workr' names an attribute @workr that psa-timesheets.xsd does not allow there, so it would read as missing in every record"),
        ("time_entries.yaml", "path: \"@hours\" }", "path: \"@hour\" }", "control total sum over 'entry': '@hour' names an attribute @hour that psa-timesheets.xsd does not allow there, so it would read as missing in every record"),
    ])
    func aPathTheSchemaDoesNotAllowIsReportedWhereItStands(_ file: String, _ from: String, _ to: String, _ message: String) throws {
        let found = try diagnostics(file, from, to)
        #expect(found.map(\.message) == [message])
        #expect(found.first?.code == .badPath)
        // At the edited line, not at 1:1.
        let text = try String(contentsOfFile: TestPaths.pipelines + "/" + file, encoding: .utf8)
        let line = text[..<text.range(of: from)!.lowerBound].filter { $0 == "\n" }.count + 1
        #expect(found.first?.line == line)
    }

    /// Under xs:any nothing is judged; beside it, what the schema names still is.
    @Test func whatTheSchemaLeavesOpenIsNotJudged() throws {
        let dir = NSTemporaryDirectory() + "dropline-outline-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/schemas", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
              <xs:element name="Export">
                <xs:complexType>
                  <xs:sequence>
                    <xs:element name="Item" maxOccurs="unbounded">
                      <xs:complexType>
                        <xs:sequence>
                          <xs:element name="Code" type="xs:string"/>
                          <xs:element name="Extra">
                            <xs:complexType><xs:sequence><xs:any processContents="lax"/></xs:sequence></xs:complexType>
                          </xs:element>
                        </xs:sequence>
                        <xs:attribute name="id" type="xs:string"/>
                      </xs:complexType>
                    </xs:element>
                    <xs:element name="End"><xs:complexType><xs:attribute name="count" type="xs:string"/></xs:complexType></xs:element>
                  </xs:sequence>
                  <xs:attribute name="exportId" type="xs:string"/>
                  <xs:attribute name="businessDate" type="xs:date"/>
                </xs:complexType>
              </xs:element>
            </xs:schema>
            """.write(toFile: dir + "/schemas/export.xsd", atomically: true, encoding: .utf8)
        func definition(_ fields: String) throws -> PipelineDefinition {
            try """
                format_version: 1
                pipeline: items
                version: 1
                inbox: { pattern: "ITEMS_*.xml" }
                extract:
                  xml:
                    schema: schemas/export.xsd
                    root: /Export
                    header:
                      export_id: { path: "@exportId" }
                      business_date: { path: "@businessDate", type: date }
                    control:
                      element: End
                      totals:
                        - { attribute: count, count: item }
                    records:
                      item:
                        path: /Export/Item
                        key: [id]
                        fields:
                          id: "@id"
                \(fields)
                load:
                  - table: { name: items, key: [id] }
                """.write(toFile: dir + "/items.yaml", atomically: true, encoding: .utf8)
            return try PipelineLoader().load(file: dir + "/items.yaml")
        }
        #expect(SchemaOutline.diagnostics(for: try definition("          deep: Extra/Anything/Goes")).isEmpty)
        #expect(SchemaOutline.diagnostics(for: try definition("          code: Cod")).map(\.message) == ["record 'item' field 'code': 'Cod' names an element Cod that export.xsd does not allow there, so it would read as missing in every record"])
    }
}
