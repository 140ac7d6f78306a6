import DroplineRuntime
import Foundation
import GRDB
import Testing

/// What the operator reads of a storage error: the system's words and the errno, whichever way
/// Foundation wrapped it, never Foundation's empty preamble.
struct ErrorTextTests {
    @Test func errnoIsSaidInTheSystemsWordsWithItsNumber() throws {
        #expect(ErrorText.describe(POSIXError(.ENOSPC)) == "No space left on device (errno 28)")
        #expect(ErrorText.describe(NSError(domain: NSPOSIXErrorDomain, code: 13)) == "Permission denied (errno 13)")
        // A file error of Foundation's carries the errno beneath it.
        let missing = NSTemporaryDirectory() + "dropline-missing-" + UUID().uuidString
        do {
            _ = try FileManager.default.contentsOfDirectory(atPath: missing)
            Issue.record("a missing folder was listed")
        } catch {
            #expect(ErrorText.describe(error) == "No such file or directory (errno 2)")
        }
        do {
            try Data("x".utf8).write(to: URL(fileURLWithPath: missing + "/sub/file"))
            Issue.record("a file was written into a missing folder")
        } catch {
            #expect(ErrorText.describe(error) == "No such file or directory (errno 2)")
        }
    }

    @Test func otherErrorsAreSaidWithoutFoundationsPreamble() {
        // Swift errors say what they are.
        let sqlite = DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full")
        #expect(ErrorText.describe(sqlite) == sqlite.description)
        #expect(ErrorText.describe(RunError.io("the folder is gone")) == RunError.io("the folder is gone").description)
        // A file error with no errno under it: Foundation's sentence, without the preamble.
        let text = ErrorText.describe(CocoaError(.fileWriteNoPermission))
        #expect(!text.isEmpty && !text.contains("could not be completed") && !text.contains("couldn\u{2019}t be completed"), "\(text)")
        // Storage failures read the same way.
        #expect(StorageFailure.classify(POSIXError(.EIO)) == "Input/output error (errno 5)")
        #expect(StorageFailure.classify(CocoaError(.fileWriteOutOfSpace, userInfo: [NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: 28)])) == "No space left on device (errno 28)")
    }
}
