import Foundation
import GRDB

/// Recognises storage failures (disk full, file too large, I/O errors) among the errors a load
/// can throw, so that the run stops with exit 74 instead of blaming the input file.
public enum StorageFailure {
    public static func classify(_ error: any Error) -> String? {
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_FULL: return "the disk is full (database)"
            case .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_READONLY: return "database I/O error (\(e.resultCode))"
            default: return nil
            }
        }
        if let e = error as? POSIXError, [.ENOSPC, .EFBIG, .EIO, .EDQUOT, .EROFS].contains(e.code) { return ErrorText.describe(e) }
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain { return ErrorText.describe(underlying) }
        if ns.domain == NSPOSIXErrorDomain { return ErrorText.describe(ns) }
        if ns.domain == NSCocoaErrorDomain, [NSFileWriteOutOfSpaceError, NSFileWriteUnknownError, NSFileWriteVolumeReadOnlyError].contains(ns.code) { return ErrorText.describe(ns) }
        return nil
    }
}

/// An error in the words a message to the operator quotes: the system's text of an errno with
/// its number ("No space left on device (errno 28)"), found also under a Foundation file error;
/// a Swift error's own description (SQLite's, Dropline's); else Foundation's text without its
/// "The operation could not be completed." preamble, which says nothing.
public enum ErrorText {
    public static func describe(_ error: any Error) -> String {
        if let e = error as? POSIXError { return system(e.code.rawValue) }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return system(Int32(truncatingIfNeeded: ns.code)) }
        // Foundation on Linux keeps a `POSIXError` there, which does not cast to `NSError`.
        if let underlying = (ns.userInfo[NSUnderlyingErrorKey] as? any Error).map({ $0 as NSError }), underlying.domain == NSPOSIXErrorDomain {
            return system(Int32(truncatingIfNeeded: underlying.code))
        }
        if ns.domain != NSCocoaErrorDomain, let described = error as? any CustomStringConvertible { return described.description }
        var text = Substring(ns.localizedDescription)
        for preamble in ["The operation could not be completed.", "The operation couldn\u{2019}t be completed."] where text.hasPrefix(preamble) {
            text = text.dropFirst(preamble.count).drop { $0 == " " }
        }
        return text.isEmpty ? ns.localizedDescription : String(text)
    }

    /// The system's text of an errno, with its number.
    public static func system(_ code: Int32) -> String { "\(String(cString: strerror(code))) (errno \(code))" }
}
