import DroplineCore
import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// Hostile and malformed input: each case is quarantined with a specific reason, nothing from it
/// is loaded, and the next file in the inbox is still processed.
@Suite(.serialized)
struct HostileInputTests {
    static let good = try! String(contentsOfFile: TestPaths.examples + "/inbound/ERP_RATES_ERP01_20261127_001.xml", encoding: .utf8)
    static let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    static let root = "<RateCard xmlns=\"urn:example:erp:rates:1\" exportId=\"X\" sourceSystem=\"ERP\" generatedAt=\"2026-11-27T21:35:00+01:00\" businessDate=\"2026-11-27\" schemaVersion=\"1\" currency=\"EUR\">"

    /// Drops `bytes` as rates file 001 and a valid rate card as 002; returns the hostile file's result.
    func check(_ bytes: Data, _ reason: String, file: String = "ERP_RATES_ERP01_20261127_001.xml") throws -> RunSummary.FileResult {
        let zone = try TemporaryDropZone()
        try zone.drop(data: bytes, as: file)
        try zone.drop(data: Data(Self.good.replacingOccurrences(of: "ERP-R-20261127-001", with: "ERP-R-20261127-777").utf8), as: "ERP_RATES_ERP01_20261127_999.xml")
        let started = Date()
        let summary = try zone.run(asOf: "2026-11-28")
        #expect(Date().timeIntervalSince(started) < 30)
        let hostile = try #require(summary.files.first { $0.name == file })
        #expect(hostile.outcome == "quarantined")
        #expect(hostile.reason == reason, "\(hostile.message ?? "")")
        let next = try #require(summary.files.first { $0.name == "ERP_RATES_ERP01_20261127_999.xml" })
        #expect(next.outcome == "loaded")
        #expect(next.records["loaded"] == 3)
        let rows = try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM rates WHERE _export_id <> 'ERP-R-20261127-777'") }
        #expect(rows == 0)
        let sidecar = try String(contentsOfFile: zone.root + "/quarantine/rates/\(file).error.json", encoding: .utf8)
        #expect(sidecar.contains("\"reason\" : \"\(reason)\""))
        #expect(sidecar.contains("\"line\"") || sidecar.contains("\"byte_offset\""))
        return hostile
    }

    static func doc(_ s: String) -> Data { Data(s.utf8) }

    /// libxml2 stops the expansion while it parses the internal subset, before the DOCTYPE is
    /// even reported: the more specific code wins.
    @Test func billionLaughs() throws {
        var dtd = "<!DOCTYPE RateCard [\n<!ENTITY lol \"lol\">\n"
        for i in 1...9 { dtd += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i == 1 ? "" : String(i - 1));", count: 10) + "\">\n" }
        dtd += "]>\n"
        _ = try check(Self.doc(Self.head + dtd + Self.root + "<Control recordCount=\"&lol9;\"/></RateCard>"), "entity_limit")
    }

    @Test func quadraticBlowup() throws {
        let big = String(repeating: "x", count: 100_000)
        let refs = String(repeating: "&a;", count: 50_000)
        _ = try check(Self.doc(Self.head + "<!DOCTYPE RateCard [<!ENTITY a \"\(big)\">]>" + Self.root + "<Rate role=\"\(refs)\"/><Control recordCount=\"1\"/></RateCard>"), "dtd_forbidden")
    }

    @Test(arguments: [
        "<!DOCTYPE RateCard [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
        "<!DOCTYPE RateCard [<!ENTITY xxe SYSTEM \"http://127.0.0.1:9/x\">]>",
        "<!DOCTYPE RateCard SYSTEM \"http://127.0.0.1:9/rates.dtd\">",
        "<!DOCTYPE RateCard [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>",
    ])
    func externalEntitiesAndDTDs(_ doctype: String) throws {
        _ = try check(Self.doc(Self.head + doctype + Self.root + "<Control recordCount=\"0\"/></RateCard>"), "dtd_forbidden")
    }

    /// With entries on hold, a timesheet export is first read for the held ids it carries again
    /// (`forEachElement`): a hostile export gets through that read too, and is then quarantined
    /// as without holds; the hold stays.
    @Test(arguments: [
        // Refused at its DOCTYPE, before the trailer uses the entity (the same without holds).
        ("billion_laughs", "dtd_forbidden"), ("deep_nesting", "depth_limit"), ("huge_id", "size_limit"),
        ("million_attributes", "size_limit"), ("cut_after_the_held_entry", "not_well_formed"),
    ])
    func hostileTimesheetsOverAZoneWithHolds(_ kind: String, _ reason: String) throws {
        let zone = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        func held() throws -> [String] { try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { try String.fetchAll($0, sql: "SELECT entry_id FROM holds") } }
        let holds = try held()
        #expect(!holds.isEmpty)
        let root = "<TimesheetExport xmlns=\"urn:example:psa:time:2\" exportId=\"PSA-T-HOSTILE\" sourceSystem=\"PSA\" generatedAt=\"2026-11-28T23:30:00Z\" businessDate=\"2026-11-28\" schemaVersion=\"2\">"
        let sheet = "<Timesheet id=\"TS-1\" worker=\"00012345\" weekStart=\"2026-11-23\" status=\"approved\">"
        let entry = "<Entry id=\"\(holds[0])\" date=\"2026-11-24\" project=\"PRJ-10078\" task=\"T-01\" hours=\"2.00\" category=\"billable\"/>"
        var data = Data(Self.head.utf8)
        switch kind {
        case "billion_laughs":
            var dtd = "<!DOCTYPE TimesheetExport [\n<!ENTITY lol \"lol\">\n"
            for i in 1...9 { dtd += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i == 1 ? "" : String(i - 1));", count: 10) + "\">\n" }
            data.append(Data((dtd + "]>\n" + root + sheet + entry + "</Timesheet><Control entryCount=\"&lol9;\"/></TimesheetExport>").utf8))
        case "deep_nesting":
            data.append(Data((root + sheet + String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000) + entry + "</Timesheet></TimesheetExport>").utf8))
        case "huge_id":
            data.append(Data((root + sheet + "<Entry id=\"").utf8))
            data.append(Data(repeating: UInt8(ascii: "7"), count: 20 << 20))
            data.append(Data(("\"/>" + entry + "</Timesheet></TimesheetExport>").utf8))
        case "million_attributes":
            var s = root + sheet + "<Entry"
            for i in 0..<1_000_000 { s += " a\(i)=\"1\"" }
            data.append(Data((s + "/>" + entry + "</Timesheet></TimesheetExport>").utf8))
        default:
            data.append(Data((root + sheet + entry + "<Entry id=").utf8))
        }
        try zone.drop(data: data, as: "PSA_TIMESHEETS_PSA01_20261128_009.xml")
        let started = Date()
        let summary = try zone.run(asOf: "2026-11-29", at: "2026-11-29T01:00:00Z")
        #expect(Date().timeIntervalSince(started) < 30)
        let file = try #require(summary.files.first { $0.name == "PSA_TIMESHEETS_PSA01_20261128_009.xml" })
        #expect(file.outcome == "quarantined" && file.reason == reason, "\(file.reason ?? "") \(file.message ?? "")")
        #expect(try held() == holds)
    }

    @Test func deepNesting() throws {
        let depth = 100_000
        let f = try check(Self.doc(Self.head + Self.root + String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth) + "<Control recordCount=\"0\"/></RateCard>"), "depth_limit")
        // libxml2's advice to set a parser flag is for programmers, not for the reader.
        #expect(f.message?.contains("Excessive depth in document: 256") == true)
        #expect(f.message?.contains("XML_PARSE_HUGE") == false)
    }

    @Test func hugeAttributeGeneratedOnTheFly() throws {
        var data = Data((Self.head + Self.root + "<Rate role=\"").utf8)
        data.append(Data(repeating: UInt8(ascii: "A"), count: 200 << 20))
        data.append(Data("\"/><Control recordCount=\"1\"/></RateCard>".utf8))
        _ = try check(data, "size_limit")
    }

    @Test func hugeTextNode() throws {
        var data = Data((Self.head + Self.root + "<Rate role=\"X\">").utf8)
        data.append(Data(repeating: UInt8(ascii: "t"), count: 30 << 20))
        data.append(Data("</Rate><Control recordCount=\"1\"/></RateCard>".utf8))
        _ = try check(data, "size_limit")
    }

    @Test func millionAttributes() throws {
        var s = Self.head + Self.root + "<Rate"
        s.reserveCapacity(12_000_000)
        for i in 0..<1_000_000 { s += " a\(i)=\"1\"" }
        s += "/><Control recordCount=\"1\"/></RateCard>"
        _ = try check(Data(s.utf8), "size_limit")
    }

    @Test func randomBytes() throws {
        var rng = SystemRandomNumberGenerator()
        var g = Data(count: 4096)
        for i in 0..<g.count { g[i] = UInt8.random(in: 0...255, using: &rng) }
        g[0] = UInt8(ascii: "<")
        let zone = try TemporaryDropZone()
        try zone.drop(data: g, as: "ERP_RATES_ERP01_20261127_001.xml")
        let summary = try zone.run(asOf: "2026-11-28")
        #expect(summary.files.first?.outcome == "quarantined")
        #expect(["not_well_formed", "bad_encoding"].contains(summary.files.first?.reason ?? ""))
    }

    @Test func latin1BytesDeclaredUTF8IsBadEncodingWithOffset() throws {
        var data = Data((Self.head + Self.root + "<Rate role=\"M").utf8)
        let offset = data.count
        data.append(0xFC)  // ü in ISO-8859-1
        data.append(Data("LLER\" region=\"EMEA\" validFrom=\"2026-01-01\" billRate=\"1.00\" costRate=\"1.00\"/><Control recordCount=\"1\"/></RateCard>".utf8))
        let r = try check(data, "bad_encoding")
        #expect(r.message?.contains("byte") == true || r.message?.contains("line") == true)
        _ = offset
    }

    @Test(arguments: [UInt8(0), UInt8(1), UInt8(0x1B)])
    func controlCharacters(_ byte: UInt8) throws {
        var data = Data((Self.head + Self.root + "<Rate role=\"A").utf8)
        data.append(byte)
        data.append(Data("\"/><Control recordCount=\"1\"/></RateCard>".utf8))
        _ = try check(data, "not_well_formed")
    }

    @Test func truncatedAtManyOffsets() throws {
        let full = Data(Self.good.utf8)
        let zone = try TemporaryDropZone()
        var offsets: [Int] = []
        var o = 1
        while o < full.count - 1 { offsets.append(o); o += max(1, full.count / 40) }
        for (i, cut) in offsets.enumerated() {
            try zone.drop(data: full.prefix(cut), as: "ERP_RATES_ERP01_20261127_\(zeroPad(i + 1, 3)).xml")
        }
        try zone.drop(data: Data(Self.good.replacingOccurrences(of: "ERP-R-20261127-001", with: "ERP-R-20261127-777").utf8), as: "ERP_RATES_ERP01_20261127_999.xml")
        let summary = try zone.run(asOf: "2026-11-28")
        #expect(offsets.count >= 30)
        for f in summary.files where f.name != "ERP_RATES_ERP01_20261127_999.xml" {
            #expect(f.outcome == "quarantined", "\(f.name): \(f.outcome)")
            #expect(["not_well_formed", "bad_encoding"].contains(f.reason ?? ""), "\(f.name): \(f.reason ?? "")")
        }
        #expect(summary.files.first { $0.name == "ERP_RATES_ERP01_20261127_999.xml" }?.records["loaded"] == 3)
    }
}

struct FileSizeLimitTests {
    @Test func fileOverTheZoneLimitIsQuarantinedSizeLimit() throws {
        let zone = try TemporaryDropZone(settings: "format_version: 1\nlimits:\n  max_file_bytes: 500\n")
        try zone.drop(TestPaths.examples + "/inbound/ERP_RATES_ERP01_20261127_001.xml")
        let summary = try zone.run(asOf: "2026-11-28")
        #expect(summary.files.first?.reason == "size_limit")
        #expect(summary.files.first?.message?.contains("max_file_bytes is 500") == true)
    }

    @Test func attributeCountAndTextSizeLimitsFromSettings() throws {
        let zone = try TemporaryDropZone(settings: "format_version: 1\nlimits:\n  max_attributes: 8\n  max_text_bytes: 64\n")
        var many = HostileInputTests.head + HostileInputTests.root + "<Rate"
        for i in 0..<9 { many += " a\(i)=\"1\"" }
        many += "/><Control recordCount=\"1\"/></RateCard>"
        try zone.drop(data: Data(many.utf8), as: "ERP_RATES_ERP01_20261127_001.xml")
        let long = HostileInputTests.head + HostileInputTests.root + "<Rate role=\"" + String(repeating: "R", count: 65) + "\"/><Control recordCount=\"1\"/></RateCard>"
        try zone.drop(data: Data(long.utf8), as: "ERP_RATES_ERP01_20261127_002.xml")
        let summary = try zone.run(asOf: "2026-11-28")
        #expect(summary.files.map(\.reason) == ["size_limit", "size_limit"])
        #expect(summary.files[0].message?.contains("max_attributes is 8") == true)
        #expect(summary.files[1].message?.contains("max_text_bytes is 64") == true)
    }

    @Test func unknownSettingIsAConfigError() throws {
        let zone = try TemporaryDropZone(settings: "format_version: 1\nlimits:\n  max_file_byte: 500\n")
        let r = try runDropline(["run", "--root", zone.root])
        #expect(r.exitCode == 78)
        #expect(r.stderr.contains("dropline.yaml:3:3: error: unknown key 'max_file_byte' in 'limits'; did you mean 'max_file_bytes'?"))
    }

    /// Values that would quarantine every file, wrap or impersonate another exit code, or
    /// expire holds before they are held are config errors at their place, and nothing runs.
    @Test func settingsOutOfRangeAreConfigErrors() throws {
        let zone = try TemporaryDropZone(settings: "format_version: 1\nhold_days: -1\nexit_code_on_rejects: 75\nlimits:\n  max_depth: 0\n  max_record_bytes: -5\n")
        try zone.drop(TestPaths.examples + "/inbound/ERP_RATES_ERP01_20261127_001.xml")
        let r = try runDropline(["run", "--root", zone.root])
        #expect(r.exitCode == 78)
        for expected in ["dropline.yaml:2:12: error: hold_days must be 0 or more", "dropline.yaml:3:23: error: exit_code_on_rejects must be 0 to 63, not 75",
                         "dropline.yaml:5:14: error: limits.max_depth must be 1 or more, not 0", "dropline.yaml:6:21: error: limits.max_record_bytes must be 1 or more, not -5"] {
            #expect(r.stderr.contains(expected), "\(expected)\n\(r.stderr)")
        }
        #expect(zone.files(in: "inbox").contains("ERP_RATES_ERP01_20261127_001.xml"))
    }
}

/// The timesheet pipeline reads on one thread, decides on a second and writes on a third: a
/// failure found deep in a large export (a cut, a control character, a control total that only
/// the last line can contradict, after every entry was decided and written) stops all three and
/// rolls the file back; the next export then loads exactly as it would alone.
@Suite(.serialized)
struct HostileTimesheetTests {
    func masterData(_ zone: TemporaryDropZone) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: TestPaths.samples + "/night-1")
        where name.hasSuffix(".xml") && !name.hasPrefix("PSA_TIMESHEETS") && !name.hasPrefix("ERP_RATES_ERP01_20261127_002") {
            try zone.drop(TestPaths.samples + "/night-1/" + name)
        }
    }

    func counts(_ zone: TemporaryDropZone) throws -> [Int] {
        try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { db in
            try ["postings", "time_entry_evaluation", "time_entry_latest", "holds", "timesheet_status", "posted_week"].map { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \($0)") ?? -1 }
        }
    }

    @Test func failuresDeepInALargeExportLoadNothing() throws {
        let good = SampleDrop.timesheets(exportID: "PSA-T-GEN-099")
        let bytes = Array(good.utf8)
        let entries = good.components(separatedBy: "<Entry ").count - 1
        #expect(entries > 4_000)
        var broken: [(name: String, data: Data, reason: String)] = []
        for (i, share) in [0.4, 0.7, 0.97].enumerated() {
            broken.append(("PSA_TIMESHEETS_PSA01_20261127_00\(i + 1).xml", Data(bytes.prefix(Int(Double(bytes.count) * share))), "not_well_formed"))
        }
        var control = bytes
        let at = bytes.count * 6 / 10
        let quote = control[at...].firstIndex(of: UInt8(ascii: "\""))! + 1
        control[quote] = 0x01
        broken.append(("PSA_TIMESHEETS_PSA01_20261127_004.xml", Data(control), "not_well_formed"))
        let wrongTotal = good.replacingOccurrences(of: "entryCount=\"\(entries)\"", with: "entryCount=\"\(entries + 1)\"")
        broken.append(("PSA_TIMESHEETS_PSA01_20261127_005.xml", Data(wrongTotal.utf8), "control_total_mismatch"))

        let alone = try TemporaryDropZone()
        try masterData(alone)
        try alone.drop(data: Data(good.utf8), as: "PSA_TIMESHEETS_PSA01_20261127_099.xml")
        _ = try alone.run(asOf: "2026-11-28")

        let zone = try TemporaryDropZone()
        try masterData(zone)
        for (i, b) in broken.enumerated() {
            // An export id of its own (the text is ASCII, so the cut and the control byte stay).
            try zone.drop(data: Data(String(decoding: b.data, as: UTF8.self).replacingOccurrences(of: "PSA-T-GEN-099", with: "PSA-T-GEN-00\(i + 1)").utf8), as: b.name)
        }
        try zone.drop(data: Data(good.utf8), as: "PSA_TIMESHEETS_PSA01_20261127_099.xml")
        let summary = try zone.run(asOf: "2026-11-28")
        for b in broken {
            let f = try #require(summary.files.first { $0.name == b.name })
            #expect(f.outcome == "quarantined", "\(b.name)")
            #expect(f.reason == b.reason, "\(b.name): \(f.message ?? "")")
        }
        let last = try #require(summary.files.first { $0.name == "PSA_TIMESHEETS_PSA01_20261127_099.xml" })
        #expect(last.outcome == "loaded")
        #expect((last.records["loaded"] ?? 0) > 0)
        let expected = try counts(alone)
        #expect(expected[0] > 0)
        #expect(try counts(zone) == expected)
    }
}
