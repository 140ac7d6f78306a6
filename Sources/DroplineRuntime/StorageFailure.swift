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
        if let e = error as? POSIXError, [.ENOSPC, .EFBIG, .EIO, .EDQUOT, .EROFS].contains(e.code) { return e.localizedDescription }
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return "\(underlying.localizedDescription) (errno \(underlying.code))"
        }
        if ns.domain == NSPOSIXErrorDomain { return ns.localizedDescription }
        if ns.domain == NSCocoaErrorDomain, [NSFileWriteOutOfSpaceError, NSFileWriteUnknownError, NSFileWriteVolumeReadOnlyError].contains(ns.code) { return ns.localizedDescription }
        return nil
    }
}
