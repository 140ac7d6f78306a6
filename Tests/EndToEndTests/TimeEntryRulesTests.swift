import DroplineCore
import DroplineProfessionalServices
import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// Record-level outcomes of time entries: examples/bad/EXPECTED.md and one minimal input per
/// reason code of the contract.
@Suite(.serialized)
struct TimeEntryRulesTests {
    func afterRunOne() throws -> TemporaryDropZone {
        let zone = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        return zone
    }

    struct RejectLine: Decodable {
        var key: String?
        var primary_reason: String
        var checks: [RecordIssue]
    }

    func rejects(_ zone: TemporaryDropZone, file: String) throws -> [String: RejectLine] {
        guard let path = zone.files(in: "rejected").first(where: { $0.hasSuffix(file + ".rejects.jsonl") }) else { return [:] }
        let lines = try String(contentsOfFile: zone.root + "/rejected/" + path, encoding: .utf8).split(separator: "\n")
        var out: [String: RejectLine] = [:]
        for l in lines {
            let r = try JSONDecoder().decode(RejectLine.self, from: Data(l.utf8))
            out[r.key ?? ""] = r
        }
        return out
    }

    func evaluations(_ zone: TemporaryDropZone) throws -> [String: (String, String?)] {
        try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { db in
            var out: [String: (String, String?)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT entry_id, outcome, primary_reason FROM time_entry_evaluation ORDER BY id") {
                out[row["entry_id"]] = (row["outcome"], row["primary_reason"])
            }
            return out
        }
    }

    @Test func expectedOutcomesOfFile004() throws {
        let zone = try afterRunOne()
        let name = "PSA_TIMESHEETS_PSA01_20261127_004.xml"
        try zone.drop(TestPaths.examples + "/bad/" + name)
        let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z")
        let file = try #require(summary.files.first { $0.name == name })
        #expect(file.outcome == "loaded")
        #expect(file.records == ["loaded": 1, "held": 1, "rejected": 12, "skipped": 0])
        #expect(file.reasons == ["invalid_field": 6, "invalid_hours": 2, "date_outside_week": 1, "unknown_project": 1, "day_over_24": 1, "period_closed": 1, "unknown_worker": 1])
        let r = try rejects(zone, file: name)
        let expected: [String: [String]] = [
            "TE-00000101": ["invalid_field"], "TE-00000102": ["invalid_field"], "TE-00000103": ["invalid_field"],
            "TE-00000104": ["invalid_hours"], "TE-00000105": ["invalid_hours"],
            "TE-00000106": ["date_outside_week", "worker_inactive", "unmapped_category"],
            "TE-00000107": ["unknown_project"], "TE-00000108": ["invalid_field"], "TE-00000109": ["invalid_field"],
            "TE-00000110": ["day_over_24"], "TE-00000112": ["invalid_field"], "TE-00000114": ["period_closed"],
        ]
        #expect(Set(r.keys) == Set(expected.keys))
        for (key, codes) in expected {
            #expect(r[key]?.primary_reason == codes[0], "\(key)")
            if codes != ["invalid_field"] { #expect(r[key]?.checks.map(\.code.rawValue) == codes, "\(key)") }
        }
        let evals = try evaluations(zone)
        #expect(evals["TE-00000111"]?.0 == "posted")
        #expect(evals["TE-00000113"]?.0 == "held")
        #expect(evals["TE-00000113"]?.1 == "unknown_worker")
        let labor = String(decoding: try zone.read("outbound/erp/ERP_LABOR_1000_20261128_002.xml"), as: UTF8.self)
        #expect(labor.contains("<Posting id=\"P-TE-00000111-001\" ref=\"TE-00000111\" pernr=\"00012346\" erpProject=\"4000123\" laborClass=\"LBR-CLNB\" postingDate=\"2026-11-27\" period=\"2026-11\" hours=\"2.00\" costAmount=\"130.00\" billAmount=\"0.00\" currency=\"EUR\"/>"))
        #expect(labor.contains("<Control postingCount=\"1\" totalHours=\"2.00\" totalCost=\"130.00\" totalBill=\"0.00\"/>"))
    }

    @Test(arguments: [
        ("PSA_TIMESHEETS_PSA01_20261127_002.xml", "not_well_formed"),
        ("PSA_TIMESHEETS_PSA01_20261127_003.xml", "control_total_mismatch"),
    ])
    func fileLevelFaultsOfTimesheets(_ name: String, _ reason: String) throws {
        let zone = try afterRunOne()
        try zone.drop(TestPaths.examples + "/bad/" + name)
        let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z")
        #expect(summary.files.first?.reason == reason)
        #expect(try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM postings") } == 5)
        #expect(summary.outputs.isEmpty)
    }

    /// One entry of TS-0000001 (00012345, week of 2026-11-23, approved) per case, on top of run 1.
    static func export(_ entries: String, id: String = "PSA-T-20261127-050", weekStart: String = "2026-11-23", worker: String = "00012345") -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <TimesheetExport xmlns="urn:example:psa:time:2" exportId="\(id)" sourceSystem="PSA" generatedAt="2026-11-27T23:30:00Z" businessDate="2026-11-27" schemaVersion="2">
          <Timesheet id="TS-0000050" worker="\(worker)" weekStart="\(weekStart)" status="approved">
        \(entries)
          </Timesheet>
          <Control timesheetCount="1" entryCount="1" totalHours="\(entries.components(separatedBy: "hours=\"")[1].prefix { $0 != "\"" })"/>
        </TimesheetExport>

        """
    }

    @Test(arguments: [
        ("<Entry id=\"TE-00000501\" date=\"2026-11-27\" project=\"PRJ-10042\" hours=\"0\" category=\"billable\"/>", "00012345", "rejected", "invalid_hours"),
        ("<Entry id=\"TE-00000502\" date=\"2026-11-30\" project=\"PRJ-10042\" hours=\"1.00\" category=\"billable\"/>", "00012345", "rejected", "date_outside_week"),
        ("<Entry id=\"TE-00000503\" date=\"2026-11-27\" project=\"PRJ-10042\" hours=\"1.00\" category=\"billable\"/>", "00077777", "held", "unknown_worker"),
        ("<Entry id=\"TE-00000504\" date=\"2026-11-24\" project=\"PRJ-10042\" hours=\"1.00\" category=\"billable\"/>", "00012346", "rejected", "worker_inactive"),
        ("<Entry id=\"TE-00000505\" date=\"2026-11-27\" project=\"PRJ-99999\" hours=\"1.00\" category=\"billable\"/>", "00012345", "rejected", "unknown_project"),
        ("<Entry id=\"TE-00000506\" date=\"2026-11-27\" project=\"PRJ-10078\" hours=\"1.00\" category=\"internal\"/>", "00012345", "rejected", "project_not_open"),
        ("<Entry id=\"TE-00000507\" date=\"2026-11-27\" project=\"PRJ-10042\" hours=\"1.00\" category=\"overtime\"/>", "00012345", "rejected", "unmapped_category"),
        ("<Entry id=\"TE-00000509\" date=\"2026-11-27\" project=\"PRJ-10042\" hours=\"1.00\" category=\"billable\"/>", "00012347", "held", "unknown_worker"),
        ("<Entry id=\"TE-00000510\" date=\"2026-11-27\" project=\"PRJ-10042\" hours=\"17.00\" category=\"billable\"/>", "00012345", "posted", nil),
        ("<Entry id=\"TE-00000511\" date=\"2026-11-26\" project=\"PRJ-10042\" hours=\"20.01\" category=\"billable\"/>", "00012345", "rejected", "day_over_24"),
        ("<Entry id=\"TE-00000512\" date=\"2026-11-27\" project=\"PRJ-10077\" hours=\"1.00\" category=\"billable\"/>", "00012345", "held", "no_erp_project_number"),
        ("<Entry id=\"TE-00000513\" date=\"2026-11-27\" project=\"PRJ-10042\" hours=\"7,50\" category=\"billable\"/>", "00012345", "rejected", "invalid_field"),
    ] as [(String, String, String, String?)])
    func reasonCodeAsPrimary(_ entry: String, _ worker: String, _ outcome: String, _ reason: String?) throws {
        let zone = try afterRunOne()
        var text = Self.export("    " + entry, worker: worker)
        if entry.contains("7,50") { text = text.replacingOccurrences(of: "totalHours=\"7,50\"", with: "totalHours=\"0\"") }
        try zone.drop(data: Data(text.utf8), as: "PSA_TIMESHEETS_PSA01_20261127_050.xml")
        let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z")
        let file = try #require(summary.files.first)
        #expect(file.outcome == "loaded", "\(file.message ?? "")")
        #expect((file.records[outcome == "posted" ? "loaded" : outcome] ?? 0) == 1)
        if let reason { #expect(file.reasons == [reason: 1]) }
    }

    @Test func billableOnNonBillableAndNoRateAndPeriods() throws {
        let zone = try afterRunOne()
        // An internal, non-billable project that is open, a worker without a rate, a closing period.
        let projects = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ProjectExport xmlns="urn:example:psa:projects:2" exportId="PSA-P-20261127-009" sourceSystem="PSA" generatedAt="2026-11-27T23:00:00Z" businessDate="2026-11-27" schemaVersion="2">
              <Project code="INT-00001" status="active"><Name>Internal</Name><Engagement type="internal" billing="non_billable"/><Practice>CORP</Practice><Region>EMEA</Region><ErpProjectNumber>4000001</ErpProjectNumber><Start>2020-01-01</Start><Currency>EUR</Currency></Project>
              <Control recordCount="1"/>
            </ProjectExport>

            """
        try zone.drop(data: Data(projects.utf8), as: "PSA_PROJECTS_PSA01_20261127_009.xml")
        let entries = """
                <Entry id="TE-00000601" date="2026-11-27" project="INT-00001" hours="1.00" category="billable"/>
                <Entry id="TE-00000602" date="2026-11-27" project="INT-00001" hours="1.00" category="internal"/>
            """
        var text = Self.export(entries).replacingOccurrences(of: "entryCount=\"1\" totalHours=\"1.00\"", with: "entryCount=\"2\" totalHours=\"2.00\"")
        try zone.drop(data: Data(text.utf8), as: "PSA_TIMESHEETS_PSA01_20261127_060.xml")
        var summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z")
        var file = try #require(summary.files.first { $0.pipeline == "time_entries" })
        #expect(file.reasons == ["billable_on_nonbillable": 1])
        #expect(file.records["loaded"] == 1)

        // no_rate: a PCON worker has no rate in run 1's rate card; period_unknown: January 2027 has no period.
        let hr = try String(contentsOfFile: TestPaths.examples + "/inbound/HR_WORKERS_HRIS01_20261127_001.xml", encoding: .isoLatin1)
            .replacingOccurrences(of: "HR-20261127-001", with: "HR-20261127-007")
            .replacingOccurrences(of: "<PERNR>00012346</PERNR>", with: "<PERNR>00012399</PERNR>")
            .replacingOccurrences(of: "<JOB_CODE>CONS</JOB_CODE>\n    <BILLABLE_ROLE>Y</BILLABLE_ROLE>\n    <COST_CENTER>CC-4410</COST_CENTER>\n    <STD_HOURS_WEEK>32,00", with: "<JOB_CODE>PCON</JOB_CODE>\n    <BILLABLE_ROLE>Y</BILLABLE_ROLE>\n    <COST_CENTER>CC-4410</COST_CENTER>\n    <STD_HOURS_WEEK>32,00")
        let hrLines = hr.components(separatedBy: "  <WORKER ")
        let onlyNew = hrLines[0] + "  <WORKER " + hrLines[3].replacingOccurrences(of: "<TRAILER RECORD_COUNT=\"3\"/>", with: "<TRAILER RECORD_COUNT=\"1\"/>")
        try zone.drop(data: onlyNew.data(using: .isoLatin1)!, as: "HR_WORKERS_HRIS01_20261127_007.xml")
        text = Self.export("    <Entry id=\"TE-00000701\" date=\"2026-11-27\" project=\"PRJ-10042\" hours=\"1.00\" category=\"billable\"/>", id: "PSA-T-20261127-070", worker: "00012399")
        try zone.drop(data: Data(text.utf8), as: "PSA_TIMESHEETS_PSA01_20261127_070.xml")
        // 00012346 (CONS, open-ended rate) on the open internal project: only the period is missing.
        text = Self.export("    <Entry id=\"TE-00000702\" date=\"2027-02-03\" project=\"INT-00001\" hours=\"1.00\" category=\"internal\"/>", id: "PSA-T-20261127-071", weekStart: "2027-02-01", worker: "00012346")
        try zone.drop(data: Data(text.utf8), as: "PSA_TIMESHEETS_PSA01_20261127_071.xml")
        summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T04:00:00Z")
        file = try #require(summary.files.first { $0.name == "PSA_TIMESHEETS_PSA01_20261127_070.xml" })
        #expect(file.reasons == ["no_rate": 1])
        file = try #require(summary.files.first { $0.name == "PSA_TIMESHEETS_PSA01_20261127_071.xml" })
        #expect(file.reasons == ["period_unknown": 1])
    }

    @Test func closingPeriodHoldsThenReleases() throws {
        let zone = try afterRunOne()
        let closing = try String(contentsOfFile: TestPaths.examples + "/bad/ERP_PERIODS_ERP01_20261127_003.xml", encoding: .utf8)
            .replacingOccurrences(of: "ERP-FC-20261127-001", with: "ERP-FC-20261127-005")
        try zone.drop(data: Data(closing.utf8), as: "ERP_PERIODS_ERP01_20261127_005.xml")
        try zone.drop(data: Data(Self.export("    <Entry id=\"TE-00000801\" date=\"2026-11-27\" project=\"PRJ-10042\" hours=\"1.00\" category=\"billable\"/>").utf8), as: "PSA_TIMESHEETS_PSA01_20261127_080.xml")
        var summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z")
        #expect(summary.files.last?.reasons == ["period_closing": 1])
        // The period opens again: the held entry posts at the start of the next run.
        let open = try String(contentsOfFile: TestPaths.examples + "/inbound/ERP_PERIODS_ERP01_20261127_001.xml", encoding: .utf8)
            .replacingOccurrences(of: "ERP-FC-20261127-001", with: "ERP-FC-20261128-001").replacingOccurrences(of: "businessDate=\"2026-11-27\"", with: "businessDate=\"2026-11-28\"")
        try zone.drop(data: Data(open.utf8), as: "ERP_PERIODS_ERP01_20261128_001.xml")
        summary = try zone.run(asOf: "2026-11-29", at: "2026-11-29T03:00:00Z")
        #expect(summary.holds?["posted"] == 1)
        #expect(summary.outputs.contains { $0.path == "outbound/erp/ERP_LABOR_1000_20261129_001.xml" && $0.records == 1 })
    }

    /// Export `PSA-T-20261127-070` of business date 2026-11-27: `sheets` (Timesheet elements)
    /// and a control of their count, `entries` and `totalHours`.
    static func export070(_ sheets: [String], entries: Int, totalHours: String, generatedAt: String) -> Data {
        Data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <TimesheetExport xmlns="urn:example:psa:time:2" exportId="PSA-T-20261127-070" sourceSystem="PSA" generatedAt="\(generatedAt)" businessDate="2026-11-27" schemaVersion="2">
            \(sheets.joined(separator: "\n"))
              <Control timesheetCount="\(sheets.count)" entryCount="\(entries)" totalHours="\(totalHours)"/>
            </TimesheetExport>

            """.utf8)
    }

    /// A one-timesheet export of business date 2026-11-27, `PSA-T-20261127-<number>`: the
    /// worker's approved week of 2026-11-23 with `entries` (Entry elements).
    static func sheet(_ number: String, id: String = "TS-0000001", worker: String = "00012345", _ entries: [String], totalHours: String) -> Data {
        Data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <TimesheetExport xmlns="urn:example:psa:time:2" exportId="PSA-T-20261127-\(number)" sourceSystem="PSA" generatedAt="2026-11-27T23:40:00Z" businessDate="2026-11-27" schemaVersion="2">
              <Timesheet id="\(id)" worker="\(worker)" weekStart="2026-11-23" status="approved">
            \(entries.map { "    " + $0 }.joined(separator: "\n"))
              </Timesheet>
              <Control timesheetCount="1" entryCount="\(entries.count)" totalHours="\(totalHours)"/>
            </TimesheetExport>

            """.utf8)
    }

    /// New versions of two entries of night 1: TE-00000001 with other hours (a correction),
    /// TE-00000002 on an unknown project (its correction rejected).
    static let corrections = [
        #"<Entry id="TE-00000001" date="2026-11-23" project="PRJ-10042" hours="6.00" category="billable"/>"#,
        #"<Entry id="TE-00000002" date="2026-11-24" project="PRJ-99999" hours="5.00" category="billable"/>"#,
    ]

    /// A worker week posted earlier in the same file, then out of the stage's memory (it keeps
    /// the last eight worker weeks), is read back from the warehouse, where the file's week sums
    /// were written first: 20 hours on a day, the worker's eight other open weeks, then 5 more
    /// hours on that day, over 24. The first load of a zone, as a run and as a dry run.
    @Test(arguments: [false, true])
    func aWorkerWeekPostedEarlierInTheFileIsReadBack(dryRun: Bool) throws {
        let zone = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 where !name.hasPrefix("PSA_TIMESHEETS_") { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        let later = ["2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30", "2026-12-07", "2026-12-14", "2026-12-21", "2026-12-28"]
        func sheet(_ n: Int, week: String, date: String, hours: String) -> String {
            """
              <Timesheet id="TS-000007\(n)" worker="00012345" weekStart="\(week)" status="approved">
                <Entry id="TE-0000070\(n)" date="\(date)" project="PRJ-10042" hours="\(hours)" category="billable"/>
              </Timesheet>
            """
        }
        let sheets = [sheet(0, week: "2026-11-02", date: "2026-11-03", hours: "20.00")]
            + later.enumerated().map { sheet($0.offset + 1, week: $0.element, date: $0.element, hours: "1.00") }
            + [sheet(9, week: "2026-11-02", date: "2026-11-03", hours: "5.00")]
        try zone.drop(data: Self.export070(sheets, entries: 10, totalHours: "33.00", generatedAt: "2026-11-27T23:30:00Z"), as: "PSA_TIMESHEETS_PSA01_20261127_070.xml")
        let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z", dryRun: dryRun)
        let file = summary.files.first { $0.name.hasPrefix("PSA_TIMESHEETS_") }
        #expect(file?.records == ["loaded": 9, "held": 0, "rejected": 1, "skipped": 0])
        #expect(file?.reasons == ["day_over_24": 1])
        guard !dryRun else { return }
        #expect(try rejects(zone, file: "PSA_TIMESHEETS_PSA01_20261127_070.xml").keys.sorted() == ["TE-00000709"])
    }

    /// A correction that moves an entry to another week posts its reversal to the week it left,
    /// which the stage may have read earlier in the file and still keep in memory (not as its
    /// current week): the reversal's hours come off that day there too. Worker 00012345 has 8.00
    /// posted on 2026-11-23 (TE-00000001, night 1); the file posts 14.00 more on that day, moves
    /// TE-00000001 to 2026-11-17 (a week read now), then gives 10.00 more on 2026-11-23: 24.00
    /// with the reversal counted, 32.00 without. As a run and as a dry run.
    @Test(arguments: [false, true])
    func aCorrectionsReversalComesOffAWeekReadEarlierInTheFile(dryRun: Bool) throws {
        let zone = try afterRunOne()
        func sheet(_ id: String, week: String, _ entry: String, date: String, hours: String) -> String {
            """
              <Timesheet id="\(id)" worker="00012345" weekStart="\(week)" status="approved">
                <Entry id="\(entry)" date="\(date)" project="PRJ-10042" hours="\(hours)" category="billable"/>
              </Timesheet>
            """
        }
        let sheets = [sheet("TS-0000901", week: "2026-11-23", "TE-00000901", date: "2026-11-23", hours: "14.00"),
                      sheet("TS-0000001", week: "2026-11-16", "TE-00000001", date: "2026-11-17", hours: "8.00"),
                      sheet("TS-0000902", week: "2026-11-23", "TE-00000902", date: "2026-11-23", hours: "10.00")]
        try zone.drop(data: Self.export070(sheets, entries: 3, totalHours: "32.00", generatedAt: "2026-11-27T23:50:00Z"), as: "PSA_TIMESHEETS_PSA01_20261127_070.xml")
        let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z", dryRun: dryRun)
        let file = summary.files.first { $0.name.hasPrefix("PSA_TIMESHEETS_") }
        #expect(file?.records == ["loaded": 3, "held": 0, "rejected": 0, "skipped": 0])
        #expect(file?.reasons == [:])
        guard !dryRun else { return }
        let rows = try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { db in
            try Row.fetchAll(db, sql: "SELECT posting_date, SUM(hours_cents) FROM postings WHERE pernr = '00012345' AND posting_date IN ('2026-11-17', '2026-11-23') GROUP BY posting_date ORDER BY posting_date")
                .map { "\($0[0] as String) \($0[1] as Int64)" }
        }
        #expect(rows == ["2026-11-17 800", "2026-11-23 2400"])
    }

    /// The latest outcome carries the entry's net posted hours, which the reconciliation-gap
    /// metric reads: a correction posts a reversal and a replacement, a rejected correction
    /// leaves the earlier posting standing.
    @Test func latestOutcomeCarriesNetPostedHours() throws {
        let zone = try afterRunOne()
        let sheet = Self.sheet("060", Self.corrections, totalHours: "11.00")
        try zone.drop(data: sheet, as: "PSA_TIMESHEETS_PSA01_20261127_060.xml")
        let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z")
        #expect(summary.files.first?.records == ["loaded": 1, "held": 0, "rejected": 1, "skipped": 0])
        try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT l.entry_id, l.outcome, l.posted_cents, (SELECT COALESCE(SUM(hours_cents), 0) FROM postings p WHERE p.entry_id = l.entry_id) AS summed
                FROM time_entry_latest l ORDER BY l.entry_id
                """)
            #expect(rows.count == 7)
            for row in rows { #expect(row["posted_cents"] as Int64 == row["summed"] as Int64, "\(row["entry_id"] as String)") }
            let net = Dictionary(uniqueKeysWithValues: rows.map { ($0["entry_id"] as String, "\($0["outcome"] as String) \($0["posted_cents"] as Int64)") })
            // 8.00 reversed and 6.00 posted; the rejected 5.00 leaves the 7.25 of night 1 standing.
            #expect(net["TE-00000001"] == "posted 600")
            #expect(net["TE-00000002"] == "rejected 725")
            #expect(net["TE-00000003"] == "held 0")
        }
        // Held 6.00 + rejected 2.00 (TE-00000004) + rejected 5.00 - 7.25 still posted for
        // TE-00000002; every posting is in a written labor file.
        #expect(try ZoneReports(root: zone.root).gapCents() == 575)
    }

    /// Every entry's latest outcome as the evaluation log and the postings make it: its last
    /// evaluation other than a dropped hold or an unapproved timesheet (outcome, reason, worker,
    /// date, hours in hundredths), with the net hundredths of its postings.
    static func latestFromEvaluations(_ db: Database) throws -> [String] {
        var last: [String: Row] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT entry_id, outcome, primary_reason, pernr, entry_date, hours FROM time_entry_evaluation ORDER BY id") {
            let outcome: String = row["outcome"], reason: String? = row["primary_reason"]
            if outcome == "dropped" || (outcome == "skipped" && reason == "not_approved") { continue }
            last[row["entry_id"]] = row
        }
        return try last.keys.sorted().map { id in
            let r = last[id]!
            let hours = (r["hours"] as String?).flatMap { Decimal(string: $0) }.map { "\(NSDecimalNumber(decimal: $0 * 100).int64Value)" } ?? "NULL"
            let net = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(hours_cents), 0) FROM postings WHERE entry_id = ?", arguments: [id]) ?? 0
            let texts: [String?] = [id, r["outcome"], r["primary_reason"], r["pernr"], r["entry_date"], hours, "\(net)"]
            return texts.map { $0 ?? "NULL" }.joined(separator: "|")
        }
    }

    static func latestRows(_ db: Database) throws -> [String] {
        try Row.fetchAll(db, sql: "SELECT entry_id, outcome, primary_reason, pernr, entry_date, hours_cents, posted_cents FROM time_entry_latest ORDER BY entry_id").map { r -> String in
            let hours: Int64? = r["hours_cents"], posted: Int64 = r["posted_cents"]
            let texts: [String?] = [r["entry_id"], r["outcome"], r["primary_reason"], r["pernr"], r["entry_date"], hours.map { "\($0)" }, "\(posted)"]
            return texts.map { $0 ?? "NULL" }.joined(separator: "|")
        }
    }

    /// An entry whose latest decision posted has no latest-outcome row of its own (its current
    /// posting stands for it); every other latest outcome is a row. Through the view, each entry
    /// reads as its last evaluation says, over nights that post, correct, reject a correction,
    /// hold, release a hold, skip and reject before the rules: held then posted, posted then
    /// rejected, rejected then posted, posted then corrected.
    @Test func theLatestOutcomeIsTheLastEvaluationThatCounts() throws {
        let zone = try afterRunOne()
        let queue = { try DatabaseQueue(path: zone.root + "/warehouse.sqlite") }
        func check(_ night: String) throws {
            try queue().read { db in
                let view = try Self.latestRows(db), log = try Self.latestFromEvaluations(db)
                #expect(view == log, "\(night): \(Set(view).symmetricDifference(log).sorted())")
                #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM time_entry_latest_row WHERE outcome = 'posted'") == 0, "\(night)")
            }
        }
        try check("night 1")
        // TE-00000001 corrected, TE-00000002's correction rejected, TE-00000003 still held.
        let sheet = Self.sheet("061", Self.corrections + [#"<Entry id="TE-00000004" date="2026-11-26" project="PRJ-10042" hours="2.00" category="billable"/>"#], totalHours: "13.00")
        try zone.drop(data: sheet, as: "PSA_TIMESHEETS_PSA01_20261127_061.xml")
        let corrected = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z")
        #expect(corrected.files.first?.records == ["loaded": 2, "held": 0, "rejected": 1, "skipped": 0])
        try check("corrections")
        // The second night: the hold released by the ERP's acknowledgement, corrections, skips.
        for name in WorkedExampleTests.run2 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try zone.run(asOf: "2026-11-29", at: "2026-11-29T01:14:07Z")
        try check("night 2")
        // Rejections of every kind, a hold, a posting.
        try zone.drop(TestPaths.examples + "/bad/PSA_TIMESHEETS_PSA01_20261127_004.xml")
        _ = try zone.run(asOf: "2026-11-29", at: "2026-11-29T03:00:00Z")
        try check("file 004")

        // A zone without any latest outcome yet: an entry rejected, then posted by a later
        // version in the same file, leaves no row (the stage knows which rows it wrote).
        let fresh = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 where !name.hasPrefix("PSA_TIMESHEETS") { try fresh.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try fresh.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        let twice = Self.sheet("062", id: "TS-0000071", [
            #"<Entry id="TE-00000701" date="2026-11-23" project="PRJ-99999" hours="3.00" category="billable"/>"#,
            #"<Entry id="TE-00000701" date="2026-11-23" project="PRJ-10042" hours="3.00" category="billable"/>"#,
        ], totalHours: "6.00")
        try fresh.drop(data: twice, as: "PSA_TIMESHEETS_PSA01_20261127_062.xml")
        #expect(try fresh.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z").files.first?.records == ["loaded": 1, "held": 0, "rejected": 1, "skipped": 0])
        let (view, log) = try DatabaseQueue(path: fresh.root + "/warehouse.sqlite").read { db in (try Self.latestRows(db), try Self.latestFromEvaluations(db)) }
        #expect(view == log)
        #expect(view.map { $0.prefix(19) } == ["TE-00000701|posted|"])
    }

    /// Entries whose id sorts after every entry posted before need no lookup of their postings,
    /// nor days of weeks after every week posted before of their hours; the greatest posted
    /// entry itself still has one (its correction reverses it), a new entry given twice in a file
    /// corrects what the file itself posted, and the last week posted before is still read.
    /// Daily hours tell: a version taken for a new entry would add its hours to the day's instead
    /// of replacing them (20.00 on top of 8.00, 16.00 on top of 14.00: over 24, rejected), and
    /// 18.00 on a day of that week with 6.50 posted is over 24.
    @Test(arguments: [false, true])
    func entriesPastEverythingPostedBeforeAreStillCorrected(dryRun: Bool) throws {
        let zone = try afterRunOne()
        #expect(try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { try String.fetchOne($0, sql: "SELECT MAX(entry_id) FROM postings") } == "TE-00000012")
        let sheet = Self.sheet("063", id: "TS-0000002", worker: "00012346", [
            #"<Entry id="TE-00000012" date="2026-11-26" project="PRJ-10042" hours="20.00" category="billable"/>"#,
            #"<Entry id="TE-00000099" date="2026-11-27" project="PRJ-10042" hours="14.00" category="billable"/>"#,
            #"<Entry id="TE-00000099" date="2026-11-27" project="PRJ-10042" hours="16.00" category="billable"/>"#,
            #"<Entry id="TE-00000098" date="2026-11-25" project="PRJ-10042" hours="18.00" category="billable"/>"#,
        ], totalHours: "68.00")
        try zone.drop(data: sheet, as: "PSA_TIMESHEETS_PSA01_20261127_063.xml")
        let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z", dryRun: dryRun)
        #expect(summary.files.first?.records == ["loaded": 3, "held": 0, "rejected": 1, "skipped": 0])
        #expect(summary.files.first?.reasons == ["day_over_24": 1])
        guard !dryRun else { return }
        let hours = try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { db in
            try Row.fetchAll(db, sql: "SELECT entry_id, hours FROM postings WHERE entry_id IN ('TE-00000012', 'TE-00000098', 'TE-00000099') ORDER BY seq").map { "\($0[0] as String) \($0[1] as String)" }
        }
        #expect(hours == ["TE-00000012 8.00", "TE-00000012 -8.00", "TE-00000012 20.00", "TE-00000099 14.00", "TE-00000099 -14.00", "TE-00000099 16.00"])
    }

    /// Entries given again in a later export of the same run: the same (already posted), other
    /// hours (a correction) and more hours on a day the first export filled. A dry run keeps only
    /// the postings of entries its exports give more than once (`RepeatedValueScan`), and decides
    /// every entry as the run does.
    @Test func aDryRunDecidesEntriesGivenAgainInALaterExportAsTheRunDoes() throws {
        func entry(_ id: Int, _ date: String, _ hours: String) -> String {
            "<Entry id=\"TE-\(String(format: "%08d", id))\" date=\"\(date)\" project=\"PRJ-10042\" hours=\"\(hours)\" category=\"billable\"/>"
        }
        var outcomes: [[String]] = []
        for dryRun in [true, false] {
            let zone = try afterRunOne()
            try zone.drop(data: Self.sheet("081", id: "TS-0000081", [entry(801, "2026-11-24", "8.00"), entry(802, "2026-11-25", "6.00"), entry(803, "2026-11-26", "5.00")], totalHours: "19.00"),
                          as: "PSA_TIMESHEETS_PSA01_20261127_081.xml")
            try zone.drop(data: Self.sheet("082", id: "TS-0000082", [entry(801, "2026-11-24", "8.00"), entry(802, "2026-11-25", "7.00"), entry(804, "2026-11-26", "20.00")], totalHours: "35.00"),
                          as: "PSA_TIMESHEETS_PSA01_20261127_082.xml")
            let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z", dryRun: dryRun)
            outcomes.append(summary.files.map { "\($0.name.suffix(7)) \($0.outcome) \($0.records.sorted { $0.key < $1.key }) \($0.reasons.sorted { $0.key < $1.key })" })
        }
        #expect(outcomes[0] == outcomes[1])
        // 801 already posted, 802 corrected (posted), 804 over 24 hours with 803's 5.00.
        #expect(outcomes[1] == [
            #"081.xml loaded [(key: "held", value: 0), (key: "loaded", value: 3), (key: "rejected", value: 0), (key: "skipped", value: 0)] []"#,
            #"082.xml loaded [(key: "held", value: 0), (key: "loaded", value: 1), (key: "rejected", value: 1), (key: "skipped", value: 1)] [(key: "day_over_24", value: 1)]"#,
        ])
    }

    /// One file whose entries depend on earlier entries of the same file: a duplicate, a
    /// correction, the daily 24 hours across two timesheets, and a held entry held again. A real
    /// run decides them while their writes are still queued (or long written: a thousand
    /// rejected entries between the two timesheets); a dry run decides them the same way. On a
    /// zone with postings, and on one with master data only, where nothing was posted before
    /// (the lookups then ask the warehouse only for what the file itself wrote).
    @Test(arguments: [false, true], [false, true])
    func decisionsWithinOneFileSeeEachOther(dryRun: Bool, nothingPostedBefore: Bool) throws {
        let zone: TemporaryDropZone
        if nothingPostedBefore {
            zone = try TemporaryDropZone()
            for name in WorkedExampleTests.run1 where !name.hasPrefix("PSA_TIMESHEETS") { try zone.drop(TestPaths.examples + "/inbound/" + name) }
            _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
            #expect(try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { try Int.fetchOne($0, sql: "SELECT (SELECT COUNT(*) FROM postings) + (SELECT COUNT(*) FROM posted_week)") } == 0)
        } else {
            zone = try afterRunOne()
        }
        func entry(_ id: Int, _ date: String, _ hours: String, project: String = "PRJ-10042") -> String {
            "    <Entry id=\"TE-\(String(format: "%08d", id))\" date=\"\(date)\" project=\"\(project)\" hours=\"\(hours)\" category=\"billable\"/>"
        }
        func sheet(_ id: Int, worker: String = "00012345", _ entries: [String]) -> String {
            "  <Timesheet id=\"TS-\(String(format: "%07d", id))\" worker=\"\(worker)\" weekStart=\"2026-11-23\" status=\"approved\">\n" + entries.joined(separator: "\n") + "\n  </Timesheet>"
        }
        let first = [entry(601, "2026-11-28", "10.00"), entry(602, "2026-11-28", "8.00"), entry(603, "2026-11-29", "5.00")]
        let filler = (0..<1000).map { entry(10_000 + $0, "2026-11-28", "1.00", project: "PRJ-99999") }
        let second = [entry(601, "2026-11-28", "10.00"), entry(603, "2026-11-29", "6.00"), entry(604, "2026-11-28", "7.00"), entry(605, "2026-11-28", "6.00")]
        let held = [entry(606, "2026-11-27", "1.00")]
        let sheets = [sheet(61, first), sheet(62, filler), sheet(63, second), sheet(64, worker: "00077777", held), sheet(65, worker: "00077777", held)]
        let entries = first.count + filler.count + second.count + 2 * held.count
        // 23 + 1000 + 29 + 2 hours.
        try zone.drop(data: Self.export070(sheets, entries: entries, totalHours: "1054.00", generatedAt: "2026-11-27T23:50:00Z"), as: "PSA_TIMESHEETS_PSA01_20261127_070.xml")
        let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z", dryRun: dryRun)
        let file = try #require(summary.files.first)
        #expect(file.outcome == "loaded", "\(file.message ?? "")")
        // Posted: 601, 602, 603, 603 corrected, 605; skipped: 601 again; rejected: 604 (25 hours
        // on 2026-11-28) and the filler; held: 606, then 606 again (the first is superseded).
        #expect(file.records == ["loaded": 5, "held": 2, "rejected": 1001, "skipped": 1])
        #expect(file.reasons == ["unknown_project": 1000, "day_over_24": 1, "unknown_worker": 2])
        #expect(file.superseded == 1)
        guard !dryRun else { return }
        try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { db in
            let postings = try Row.fetchAll(db, sql: "SELECT posting_id, reverses, reversed_by, posting_date, hours FROM postings WHERE entry_id BETWEEN 'TE-00000601' AND 'TE-00000606' ORDER BY seq")
                .map { "\($0[0] as String) \($0[1] as String? ?? "-") \($0[2] as String? ?? "-") \($0[3] as String) \($0[4] as String)" }
            #expect(postings == [
                "P-TE-00000601-001 - - 2026-11-28 10.00",
                "P-TE-00000602-001 - - 2026-11-28 8.00",
                "P-TE-00000603-001 - P-TE-00000603-002 2026-11-29 5.00",
                "P-TE-00000603-002 P-TE-00000603-001 - 2026-11-29 -5.00",
                "P-TE-00000603-003 - - 2026-11-29 6.00",
                "P-TE-00000605-001 - - 2026-11-28 6.00",
            ])
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM holds WHERE entry_id = 'TE-00000606'") == 1)
            #expect(try Int.fetchOne(db, sql: "SELECT SUM(day6_cents) FROM posted_week WHERE pernr = '00012345' AND monday = '2026-11-23'") == 2400)
        }
    }

    /// A byte-identical copy of an export carrying a held entry is a duplicate: it is not loaded,
    /// so it does not carry the entry again. The hold is re-evaluated before the files, as on any
    /// night (its expiry goes to the HELD reject file, not the HELDLATE one of entries whose
    /// carrying export was not loaded after all).
    @Test func aDuplicateExportDoesNotCarryAHeldEntryAgain() throws {
        let zone = try afterRunOne()
        try zone.drop(TestPaths.examples + "/inbound/PSA_TIMESHEETS_PSA01_20261127_001.xml", as: "PSA_TIMESHEETS_PSA01_20261127_009.xml")
        let summary = try zone.run(asOf: "2026-12-02", at: "2026-12-02T03:00:00Z")
        #expect(summary.files.map { "\($0.outcome) \($0.reason ?? "")" } == ["skipped duplicate_file"])
        #expect(summary.holds == ["rejected": 1])
        #expect(try rejects(zone, file: "PSA_TIMESHEETS_HELD_20261202_001.xml")["TE-00000003"]?.primary_reason == "no_erp_project_number")
        #expect(zone.files(in: "rejected").allSatisfy { !$0.contains("HELDLATE") })
    }

    /// The hold pre-pass reads the ids of a new export, never those of a duplicate (a rerun of a
    /// night with holds once parsed every export again for nothing): with the pre-pass's read
    /// made fatal, a run of the duplicate finishes and a run of a new export dies there.
    @Test func theHoldPrePassDoesNotReadADuplicateExport() throws {
        let zone = try afterRunOne()
        // Before the hold on TE-00000003 expires: the pre-pass runs in both.
        let arguments = ["run", "--root", zone.root, "--settle-seconds", "0", "--as-of", "2026-11-29"]
        let failpoint = ["DROPLINE_FAILPOINT": "hold-pre-pass-reads"]
        try zone.drop(TestPaths.examples + "/inbound/PSA_TIMESHEETS_PSA01_20261127_001.xml", as: "PSA_TIMESHEETS_PSA01_20261127_009.xml")
        let duplicate = try runDropline(arguments, environment: failpoint)
        #expect([0, 1].contains(duplicate.exitCode), "\(duplicate.stderr)")
        try zone.drop(data: carryingTE3(exportID: "PSA-T-20261128-071", businessDate: "2026-11-28"), as: "PSA_TIMESHEETS_PSA01_20261128_071.xml")
        #expect(try runDropline(arguments, environment: failpoint).exitCode == 137)
    }

    /// A labor file records the earliest generated-at of the exports whose postings it holds
    /// (what the posting latency metric reads): over the worked example's two runs, run two
    /// with two more exports generated earlier, one posting an entry and one whose only entry
    /// posts nothing (its worker is unknown); and as the reservation computed it before (the
    /// query below).
    @Test func laborFilesRecordTheirExportsEarliestGeneratedAt() throws {
        let zone = try afterRunOne()
        for name in WorkedExampleTests.run2 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        for (number, generated, worker) in [("081", "2026-11-20T08:00:00Z", "00012345"), ("082", "2026-11-10T08:00:00Z", "99999999")] {
            let export = oneEntryExport(exportID: "PSA-T-20261128-\(number)", generatedAt: generated, businessDate: "2026-11-28", timesheet: "TS-0000\(number)", worker: worker,
                                        entry: "TE-00008\(number)", date: "2026-11-26", project: "PRJ-10042", hours: "2.00", totalHours: "2.00")
            try zone.drop(data: export, as: "PSA_TIMESHEETS_PSA01_20261128_\(number).xml")
        }
        _ = try zone.run(asOf: "2026-11-29", at: "2026-11-29T01:14:07Z")
        let files = try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { db in
            try Row.fetchAll(db, sql: """
                SELECT o.name, o.created_at, o.oldest_generated_at, (
                    SELECT MIN(f.generated_at) FROM _dropline_file_load f
                    WHERE f.generated_at IS NOT NULL AND f.export_id IN (SELECT export_id FROM run_export WHERE id IN (SELECT origin FROM posting_row WHERE seq BETWEEN o.first_seq AND o.last_seq))) AS expected
                FROM outbound_file o WHERE o.kind = 'erp_labor' AND o.status = 'written' ORDER BY o.rowid
                """)
        }
        #expect(files.map { $0["oldest_generated_at"] as String? } == ["2026-11-27T23:30:00Z", "2026-11-20T08:00:00Z"])
        for file in files { #expect(file["oldest_generated_at"] as String? == file["expected"] as String?, "\(file["name"] as String)") }
        let createdAt = try #require(files.last?["created_at"] as String?)
        let created = try #require(ISO8601DateFormatter().date(from: createdAt))
        let generated = try #require(ISO8601DateFormatter().date(from: "2026-11-20T08:00:00Z"))
        let metrics = String(decoding: try zone.read("metrics/dropline.prom"), as: UTF8.self)
        #expect(metrics.contains("\ndropline_posting_latency_seconds \(Int(created.timeIntervalSince(generated)))\n"), "\(createdAt)")
    }

    /// An export carrying TE-00000003 again as run one had it (its project still without an ERP
    /// number), with the trailer's total hours as given (6.00 is right).
    func carryingTE3(exportID: String, businessDate: String, totalHours: String = "6.00") -> Data {
        oneEntryExport(exportID: exportID, generatedAt: "\(businessDate)T23:30:00Z", businessDate: businessDate, timesheet: "TS-0000001", worker: "00012345",
                       entry: "TE-00000003", date: "2026-11-25", project: "PRJ-10077", hours: "6.00", totalHours: totalHours)
    }

    /// An export of one approved timesheet (week of 2026-11-23) with one billable entry.
    func oneEntryExport(exportID: String, generatedAt: String, businessDate: String, timesheet: String, worker: String, entry: String, date: String, project: String, hours: String, totalHours: String) -> Data {
        Data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <TimesheetExport xmlns="urn:example:psa:time:2" exportId="\(exportID)" sourceSystem="PSA" generatedAt="\(generatedAt)" businessDate="\(businessDate)" schemaVersion="2">
              <Timesheet id="\(timesheet)" worker="\(worker)" weekStart="2026-11-23" status="approved">
                <Entry id="\(entry)" date="\(date)" project="\(project)" task="T-01" hours="\(hours)" category="billable"/>
              </Timesheet>
              <Control timesheetCount="1" entryCount="1" totalHours="\(totalHours)"/>
            </TimesheetExport>

            """.utf8)
    }

    /// Dropping a superseded hold does not make the entry's postings lookup wait for the write
    /// queue (it did for every held entry an export carried again: the run's first second went
    /// at half speed on the bench's next night). With that wait made fatal, the run carrying
    /// TE-00000003 again (after another entry: the file's first evaluation waits for the queue
    /// anyway) finishes; one with an entry twice in its export, whose second lookup must wait for
    /// the first's posting, dies there.
    @Test func aSupersededHoldDoesNotMakeItsEntryWaitForWrites() throws {
        let zone = try afterRunOne()
        let arguments = ["run", "--root", zone.root, "--settle-seconds", "0", "--as-of", "2026-11-29"]
        let failpoint = ["DROPLINE_FAILPOINT": "lookup-waits-for-writes"]
        let carrying = String(decoding: carryingTE3(exportID: "PSA-T-20261128-071", businessDate: "2026-11-28", totalHours: "7.00"), as: UTF8.self)
            .replacingOccurrences(of: "  <Timesheet id=\"TS-0000001\"", with: """
                  <Timesheet id="TS-0000092" worker="00012345" weekStart="2026-11-23" status="approved">
                    <Entry id="TE-00009002" date="2026-11-24" project="PRJ-10042" task="T-01" hours="1.00" category="billable"/>
                  </Timesheet>
                  <Timesheet id="TS-0000001"
                """).replacingOccurrences(of: "timesheetCount=\"1\" entryCount=\"1\"", with: "timesheetCount=\"2\" entryCount=\"2\"")
        try zone.drop(data: Data(carrying.utf8), as: "PSA_TIMESHEETS_PSA01_20261128_071.xml")
        let carried = try runDropline(arguments + ["--json"], environment: failpoint)
        #expect([0, 1].contains(carried.exitCode), "\(carried.stderr)")
        let summary = try JSONDecoder().decode(RunSummary.self, from: Data(carried.stdout.utf8))
        #expect(summary.files.first?.superseded == 1)
        #expect(summary.files.first?.records == ["loaded": 1, "held": 1, "rejected": 0, "skipped": 0])
        try zone.drop(data: Data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <TimesheetExport xmlns="urn:example:psa:time:2" exportId="PSA-T-20261128-072" sourceSystem="PSA" generatedAt="2026-11-28T23:40:00Z" businessDate="2026-11-28" schemaVersion="2">
              <Timesheet id="TS-0000091" worker="00012345" weekStart="2026-11-23" status="approved">
                <Entry id="TE-00009001" date="2026-11-24" project="PRJ-10042" task="T-01" hours="1.00" category="billable"/>
                <Entry id="TE-00009001" date="2026-11-24" project="PRJ-10042" task="T-01" hours="2.00" category="billable"/>
              </Timesheet>
              <Control timesheetCount="1" entryCount="2" totalHours="3.00"/>
            </TimesheetExport>

            """.utf8), as: "PSA_TIMESHEETS_PSA01_20261128_072.xml")
        #expect(try runDropline(arguments, environment: failpoint).exitCode == 137)
    }

    /// A held entry the night's export carries again is superseded and decided from the export
    /// once; held again there, it is not re-evaluated a second time after the files (that pass
    /// is for entries whose carrying export was not loaded), and the run counts no hold twice.
    @Test func aHeldEntryHeldAgainByItsExportIsDecidedOnce() throws {
        let zone = try afterRunOne()
        try zone.drop(data: carryingTE3(exportID: "PSA-T-20261128-071", businessDate: "2026-11-28"), as: "PSA_TIMESHEETS_PSA01_20261128_071.xml")
        let summary = try zone.run(asOf: "2026-11-29", at: "2026-11-29T03:00:00Z")
        #expect(summary.files.first?.records == ["loaded": 0, "held": 1, "rejected": 0, "skipped": 0])
        #expect(summary.files.first?.superseded == 1)
        #expect((summary.holds ?? [:]).isEmpty, "\(summary.holds ?? [:])")
        let decisions = try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { db in
            try Row.fetchAll(db, sql: "SELECT outcome, primary_reason FROM time_entry_evaluation WHERE entry_id = 'TE-00000003' AND run_id = ? ORDER BY id", arguments: [summary.run_id])
                .map { "\($0[0] as String) \($0[1] as String? ?? "-")" }
        }
        #expect(decisions == ["dropped superseded", "held no_erp_project_number"])
    }

    /// The hold pre-pass finds the held entry in an export its byte scan reads (UTF-8) and, by
    /// libxml2, in one it gives up on (another encoding): either way the entry is decided from
    /// the export once, not first from the hold store.
    @Test(arguments: ["UTF-8", "ISO-8859-1"])
    func aHeldEntryCarriedAgainIsFoundInAnyEncoding(_ encoding: String) throws {
        let zone = try afterRunOne()
        let export = String(decoding: carryingTE3(exportID: "PSA-T-20261128-071", businessDate: "2026-11-28"), as: UTF8.self)
            .replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"\(encoding)\"")
        try zone.drop(data: Data(export.utf8), as: "PSA_TIMESHEETS_PSA01_20261128_071.xml")
        let summary = try zone.run(asOf: "2026-11-29", at: "2026-11-29T03:00:00Z")
        #expect(summary.files.first?.superseded == 1)
        #expect((summary.holds ?? [:]).isEmpty, "\(summary.holds ?? [:])")
        let decisions = try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { db in
            try String.fetchAll(db, sql: "SELECT outcome FROM time_entry_evaluation WHERE entry_id = 'TE-00000003' AND run_id = ? ORDER BY id", arguments: [summary.run_id])
        }
        #expect(decisions == ["dropped", "held"])
    }

    /// A held entry carried again by an export that is then quarantined is decided after the
    /// files, from the hold store: here it expires, into the HELDLATE reject file.
    @Test func aHeldEntryWhoseCarryingExportFailsIsDecidedAfterTheFiles() throws {
        let zone = try afterRunOne()
        try zone.drop(data: carryingTE3(exportID: "PSA-T-20261201-072", businessDate: "2026-12-01", totalHours: "7.00"), as: "PSA_TIMESHEETS_PSA01_20261201_072.xml")
        let summary = try zone.run(asOf: "2026-12-02", at: "2026-12-02T03:00:00Z")
        #expect(summary.files.map { "\($0.outcome) \($0.reason ?? "")" } == ["quarantined control_total_mismatch"])
        #expect(summary.holds == ["rejected": 1])
        #expect(try rejects(zone, file: "PSA_TIMESHEETS_HELDLATE_20261202_001.xml")["TE-00000003"]?.primary_reason == "no_erp_project_number")
    }

    @Test func heldEntryExpiresIntoAReject() throws {
        let zone = try afterRunOne()
        // TE-00000003 is held no_erp_project_number since B = 2026-11-27; a run on 2026-12-02 rejects it.
        var summary = try zone.run(asOf: "2026-12-01", at: "2026-12-01T03:00:00Z")
        #expect(summary.holds == ["held": 1])
        summary = try zone.run(asOf: "2026-12-02", at: "2026-12-02T03:00:00Z")
        #expect(summary.holds == ["rejected": 1])
        // No file came in, but a record was rejected: the run says so to cron.
        #expect(summary.files.isEmpty && summary.exit_code == 1)
        let r = try rejects(zone, file: "PSA_TIMESHEETS_HELD_20261202_001.xml")
        #expect(r["TE-00000003"]?.primary_reason == "no_erp_project_number")
        #expect(r["TE-00000003"]?.checks.count == 1)
        // The expired entry also stands as a timesheet export in the interface's shape.
        let xml = try #require(zone.files(in: "rejected").first { $0.hasSuffix("/PSA_TIMESHEETS_HELD_20261202_001.xml") })
        let text = try String(contentsOfFile: zone.root + "/rejected/" + xml, encoding: .utf8)
        #expect(text.contains("<Entry id=\"TE-00000003\" date=\"2026-11-25\" project=\"PRJ-10077\" hours=\"6.00\" category=\"billable\"/>"))
        #expect(text.contains("<Control timesheetCount=\"1\" entryCount=\"1\" totalHours=\"6.00\"/>"))
        #expect(try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM holds") } == 0)
    }

    /// The largest hold_days a zone accepts holds an entry for good: its expiry date stops at
    /// 9999-12-31 (the date arithmetic trapped on the overflow before).
    @Test func theLargestHoldDaysHoldsWithoutExpiring() throws {
        let zone = try TemporaryDropZone(settings: "format_version: 1\nhold_days: \(Int.max)\n")
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        let summary = try zone.run(asOf: "2126-12-02", at: "2126-12-02T03:00:00Z")
        #expect(summary.holds == ["held": 1])
        #expect(try ZoneReports(root: zone.root).holds(reason: nil).map(\.expires_on) == ["9999-12-31"])
    }

    /// Reference data the rules cannot read (here a rate card without its bill rates) stops the
    /// run before anything is decided: no entry is rejected as `no_rate` against an empty rate
    /// card, the export waits in the inbox, and the error names what is missing.
    @Test func unreadableReferenceDataDecidesNothing() throws {
        let zone = try afterRunOne()
        let warehouse = try DatabaseQueue(path: zone.root + "/warehouse.sqlite")
        func count(_ sql: String) throws -> Int? { try warehouse.read { try Int.fetchOne($0, sql: sql) } }
        let evaluations = try count("SELECT COUNT(*) FROM time_entry_evaluation")
        #expect(try count("SELECT COUNT(*) FROM holds") == 1)
        try warehouse.write { try $0.execute(sql: "ALTER TABLE rates RENAME COLUMN bill_rate TO bill") }
        let name = "PSA_TIMESHEETS_PSA01_20261127_004.xml"
        try zone.drop(TestPaths.examples + "/bad/" + name)
        let error = #expect(throws: (any Error).self) { try zone.run(asOf: "2026-11-28", at: "2026-11-28T03:00:00Z") }
        #expect(error.map { "\($0)" }?.contains("bill_rate") == true)
        #expect(zone.files(in: "inbox").contains(name))
        #expect(try count("SELECT COUNT(*) FROM time_entry_evaluation") == evaluations)
        #expect(try count("SELECT COUNT(*) FROM holds") == 1)
    }
}

/// Contract "done means": night 1 holds for an unknown worker, a closing period and a missing ERP
/// number; night 2 brings the worker, the open period and the ACK; everything posts once.
@Suite(.serialized)
struct TwoNightHoldTests {
    @Test func heldEntriesPostOnceTheirCauseIsGone() throws {
        let zone = try TemporaryDropZone()
        let ex = TestPaths.examples + "/inbound/"
        for name in ["HR_WORKERS_HRIS01_20261127_001.xml", "PSA_PROJECTS_PSA01_20261127_001.xml", "ERP_RATES_ERP01_20261127_001.xml"] { try zone.drop(ex + name) }
        // December is closing in night 1.
        let periods = try String(contentsOfFile: ex + "ERP_PERIODS_ERP01_20261127_001.xml", encoding: .utf8)
            .replacingOccurrences(of: "id=\"2026-12\" start=\"2026-12-01\" end=\"2026-12-31\" status=\"open\"", with: "id=\"2026-12\" start=\"2026-12-01\" end=\"2026-12-31\" status=\"closing\"")
        try zone.drop(data: Data(periods.utf8), as: "ERP_PERIODS_ERP01_20261127_001.xml")
        let sheet = """
            <?xml version="1.0" encoding="UTF-8"?>
            <TimesheetExport xmlns="urn:example:psa:time:2" exportId="PSA-T-20261130-001" sourceSystem="PSA" generatedAt="2026-11-30T23:30:00Z" businessDate="2026-11-27" schemaVersion="2">
              <Timesheet id="TS-0000901" worker="00055555" weekStart="2026-11-23" status="approved">
                <Entry id="TE-00000901" date="2026-11-24" project="PRJ-10042" hours="8.00" category="billable"/>
              </Timesheet>
              <Timesheet id="TS-0000902" worker="00012346" weekStart="2026-11-30" status="approved">
                <Entry id="TE-00000902" date="2026-12-01" project="PRJ-10042" hours="6.00" category="billable"/>
                <Entry id="TE-00000903" date="2026-11-30" project="PRJ-10077" hours="2.00" category="billable"/>
              </Timesheet>
              <Control timesheetCount="2" entryCount="3" totalHours="16.00"/>
            </TimesheetExport>

            """
        try zone.drop(data: Data(sheet.utf8), as: "PSA_TIMESHEETS_PSA01_20261127_001.xml")
        var summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:00:00Z")
        let night1 = try #require(summary.files.first { $0.pipeline == "time_entries" })
        #expect(night1.records == ["loaded": 0, "held": 3, "rejected": 0, "skipped": 0])
        #expect(night1.reasons == ["unknown_worker": 1, "period_closing": 1, "no_erp_project_number": 1])
        #expect(!summary.outputs.contains { $0.path.contains("ERP_LABOR") })

        // Night 2: the worker, the period opening, the ACK.
        let hr = try String(contentsOfFile: ex + "HR_WORKERS_HRIS01_20261128_001.xml", encoding: .isoLatin1)
            .replacingOccurrences(of: "ACTION=\"TERMINATE\"", with: "ACTION=\"UPSERT\"")
            .replacingOccurrences(of: "<PERNR>00012345</PERNR>", with: "<PERNR>00055555</PERNR>")
            .replacingOccurrences(of: "<VALID_FROM>20260701</VALID_FROM>\n    <VALID_TO>20261231</VALID_TO>", with: "<VALID_FROM>20261101</VALID_FROM>\n    <VALID_TO>99991231</VALID_TO>")
        try zone.drop(data: hr.data(using: .isoLatin1)!, as: "HR_WORKERS_HRIS01_20261128_001.xml")
        try zone.drop(data: Data(periods.replacingOccurrences(of: "status=\"closing\"", with: "status=\"open\"").replacingOccurrences(of: "ERP-FC-20261127-001", with: "ERP-FC-20261128-001").utf8), as: "ERP_PERIODS_ERP01_20261128_001.xml")
        try zone.drop(ex + "ERP_PROJECT_ACK_ERP01_20261128_001.xml")
        summary = try zone.run(asOf: "2026-11-29", at: "2026-11-29T01:00:00Z")
        #expect(summary.holds == ["posted": 3])
        let labor = String(decoding: try zone.read("outbound/erp/ERP_LABOR_1000_20261129_001.xml"), as: UTF8.self)
        #expect(labor.contains("P-TE-00000901-001") && labor.contains("P-TE-00000902-001") && labor.contains("P-TE-00000903-001"))
        #expect(labor.contains("erpProject=\"4000199\""))
        #expect(labor.contains("<Control postingCount=\"3\" totalHours=\"16.00\""))
        // Posted entries leave the hold store: nothing is re-evaluated again or counted as held.
        #expect(try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM holds") } == 0)
        // Nothing is posted twice: the same export again is a duplicate, and a rerun is empty.
        try zone.drop(data: Data(sheet.utf8), as: "PSA_TIMESHEETS_PSA01_20261127_002.xml")
        summary = try zone.run(asOf: "2026-11-30", at: "2026-11-30T01:00:00Z")
        #expect(summary.files.first?.reason == "duplicate_file")
        #expect(summary.outputs.isEmpty)
        #expect((summary.holds ?? [:]).isEmpty)
        let posted = try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM postings") }
        #expect(posted == 3)
    }
}

/// An entry's hours in hundredths are worked out once, where its content is made: they must
/// follow the hours through every way content is made or changed.
struct EntryContentTests {
    @Test(arguments: ["7.5", "7.50", "8", "0.01", "-3.25", "24.001", "1.005", "0", "99999999999999999999999.5"])
    func hundredthsFollowTheHours(_ text: String) throws {
        let hours = try #require(DecimalText.parse(text))
        var c = EntryContent(pernr: "1", date: BusinessDate(iso: "2026-11-23")!, project: "P", hours: 1, category: "billable")
        #expect(c.exactHundredths == 100)
        c.hours = hours
        #expect(c.exactHundredths == DecimalText.exactHundredths(hours))
        #expect(c.hundredths == DecimalText.hundredths(hours))
        #expect(c.canonicalHours == DecimalText.canonical(hours))
        // Encoded as before (five keys), decoded with its hundredths worked out again.
        let json = try JSONEncoder().encode(c)
        let keys = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any]).keys.sorted()
        #expect(keys == ["category", "date", "hours", "pernr", "project"])
        let back = try JSONDecoder().decode(EntryContent.self, from: json)
        #expect(back == c && back.exactHundredths == c.exactHundredths)
    }
}
