import DroplineCore
import Foundation

/// Turns raw text into a typed `Value` per `FieldType`, or an `invalid_field` issue.
public enum FieldCaster {
    public static func cast(_ raw: String?, _ field: FieldDefinition) -> Result<Value, RecordIssue> {
        cast(raw, name: field.name, type: field.type, emptyIsNull: field.emptyIsNull)
    }

    /// `cast` of a value given as its UTF-8 bytes (nil: absent). Dates (`YYYY-MM-DD`, no open end)
    /// and decimals as they are usually written are read from the bytes; any other type or form,
    /// and every fault, goes to `cast` with the text, so the outcome is always `cast`'s.
    public static func cast(bytes raw: UnsafeBufferPointer<UInt8>?, name: String, type: FieldType, emptyIsNull: Bool) -> Result<Value, RecordIssue> {
        guard let raw else { return .success(.null) }
        switch type {
        case .string:
            return raw.isEmpty && emptyIsNull ? .success(.null) : .success(.string(String(utf8Bytes: raw)))
        case .date(false, nil):
            if let d = BusinessDate(isoBytes: raw) { return .success(.date(d)) }
        case .decimal(let separator, let scale, let signed):
            if let d = DecimalText.parse(bytes: raw, separator: separator, allowSign: signed), scale.map({ DecimalText.significantScale(d) <= $0 }) ?? true {
                return .success(.decimal(d, scale: scale))
            }
        case .timestamp:
            // Untrimmed only: trimmed text is kept as trimmed, left to `cast`.
            if let first = raw.first, !first.isXMLSpace, !raw.last!.isXMLSpace, let instant = Timestamp.parse(bytes: raw) {
                return .success(.timestamp(String(utf8Bytes: raw), instant))
            }
        default: break
        }
        return cast(String(utf8Bytes: raw), name: name, type: type, emptyIsNull: emptyIsNull)
    }

    public static func cast(_ raw: String?, name: String, type: FieldType, emptyIsNull: Bool) -> Result<Value, RecordIssue> {
        guard let raw else { return .success(.null) }
        if raw.isEmpty && emptyIsNull { return .success(.null) }
        func fail(_ expected: String) -> Result<Value, RecordIssue> {
            .failure(RecordIssue(code: .invalidField, field: name, expected: expected, actual: raw, hint: "correct the value to the expected form"))
        }
        switch type {
        case .string:
            return .success(.string(raw))
        case .integer:
            let t = raw.xmlTrimmed
            guard let v = Int64(t), t.first != "+" else { return fail("a whole number") }
            return .success(.integer(v))
        case .decimal(let separator, let scale, let signed):
            let t = raw.xmlTrimmed
            let sepText = String(UnicodeScalar(separator))
            guard let d = DecimalText.parse(t, separator: separator, allowSign: signed) else {
                if DecimalText.isLexical(t, separator: separator, allowSign: signed) {
                    return fail("a decimal of at most \(DecimalText.maxSignificantDigits) significant digits")
                }
                return fail("a decimal with '\(sepText)' as separator" + (signed ? "" : ", not negative"))
            }
            if let scale, DecimalText.significantScale(d) > scale { return fail("at most \(scale) decimals") }
            return .success(.decimal(d, scale: scale))
        case .date(let compact, let openEnd):
            let t = raw.xmlTrimmed
            if let openEnd, t == openEnd[...] { return .success(.date(.openEnd)) }
            guard let d = compact ? BusinessDate(compact: t) : BusinessDate(iso: t) else {
                return fail(compact ? "a real calendar date as YYYYMMDD" : "a real calendar date as YYYY-MM-DD")
            }
            return .success(.date(d))
        case .timestamp:
            let t = raw.xmlTrimmed
            guard let instant = Timestamp.parse(String(t)) else { return fail("a timestamp YYYY-MM-DDThh:mm:ss with offset Z or +hh:mm") }
            return .success(.timestamp(String(t), instant))
        case .boolean(let yes, let no):
            if raw == yes { return .success(.boolean(true)) }
            if raw == no { return .success(.boolean(false)) }
            return fail("'\(yes)' or '\(no)'")
        }
    }
}

/// ISO 8601 timestamps with a mandatory offset, parsed exactly.
public enum Timestamp {
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    /// `parse` of text given as its UTF-8 bytes (read in place: no array per timestamp).
    public static func parse(bytes u: UnsafeBufferPointer<UInt8>) -> Date? {
        guard u.count >= 20, u[10] == UInt8(ascii: "T"), u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":"),
            let date = BusinessDate(isoBytes: UnsafeBufferPointer(rebasing: u[0..<10]))
        else { return nil }
        func num(_ s: Int, _ n: Int) -> Int? { DigitText.number(u, s, n) }
        guard let hh = num(11, 2), let mm = num(14, 2), let ss = num(17, 2), hh < 24, mm < 60, ss < 60 else { return nil }
        var i = 19
        var fraction = 0.0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < u.count, u[i] >= 48, u[i] <= 57 {
                fraction += Double(u[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start, i - start <= 9 else { return nil }
        }
        guard i < u.count else { return nil }
        var offset = 0
        if u[i] == UInt8(ascii: "Z") {
            guard i + 1 == u.count else { return nil }
        } else {
            guard u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"), i + 6 == u.count, u[i + 3] == UInt8(ascii: ":"),
                let oh = num(i + 1, 2), let om = num(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offset = (oh * 3600 + om * 60) * (u[i] == UInt8(ascii: "-") ? -1 : 1)
        }
        let seconds = date.dayNumber * 86400 + hh * 3600 + mm * 60 + ss - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}
