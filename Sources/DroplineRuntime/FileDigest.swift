import Crypto
import DroplineCore
import Foundation

/// Streaming SHA-256 of a file: `read(2)` into one reused 256 KiB buffer, so hashing a
/// gigabyte allocates nothing per chunk (a `Data` per read cost page faults and copies).
public enum FileDigest {
    /// The size of the file at `path` (`stat`), nil if there is none.
    public static func size(of path: String) -> Int64? { identity(of: path)?.size }

    /// What tells a file apart from itself rewritten (`stat`): the file (device, inode), its
    /// size and its modification time to the nanosecond.
    public struct Identity: Equatable, Sendable {
        public let device: UInt64
        public let inode: UInt64
        public let size: Int64
        public let modified: timespec

        public static func == (a: Identity, b: Identity) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size
                && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
        }
    }

    /// The identity of the file at `path`; nil if there is none.
    public static func identity(of path: String) -> Identity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size), modified: st.st_mtim)
    }

    public static func sha256(path: String) throws -> (hex: String, bytes: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(fd) }
        let size = 256 << 10
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var total: Int64 = 0
        while true {
            let n = read(fd, buffer.baseAddress, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO, userInfo: [NSFilePathErrorKey: path])
            }
            if n == 0 { break }
            total += Int64(n)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return (SHA256Text.hex(digest: hasher.finalize()), total)
    }
}

/// A file's SHA-256 known at once, or worked out on another thread while the file is read (for a
/// file that cannot be a duplicate: no file in the ledger has its size), waited for where it is
/// needed. Hashing before reading cost a serial pass over every new file (0.1 s a 100 MB export).
final class PendingDigest {
    /// The file's size: the digest's byte count once known, `stat`'s while hashing.
    let bytes: Int64
    private var known: (hex: String, bytes: Int64)?
    private let hashing: BackgroundTask<(hex: String, bytes: Int64)>?

    init(_ digest: (hex: String, bytes: Int64)) {
        known = digest
        bytes = digest.bytes
        hashing = nil
    }

    init(hashing path: String, bytes: Int64) {
        self.bytes = bytes
        hashing = BackgroundTask(name: "dropline-hash") { try FileDigest.sha256(path: path) }
    }

    /// Whether the digest is still being worked out.
    var isPending: Bool { known == nil }

    /// Waits for the digest; a file that could not be read all through is `unreadable_file`.
    func value() throws -> (hex: String, bytes: Int64) {
        if let known { return known }
        do {
            let digest = try hashing!.wait()
            known = digest
            return digest
        } catch {
            throw FileFailure(.unreadableFile, "the file could not be read: permission denied or I/O error")
        }
    }
}

/// Writes files so that no half file ever stands under its final name: a `.tmp` name in the
/// same folder, fsync, rename, fsync of the folder.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, permissions: mode_t = 0o644) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, permissions)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let ok = data.withUnsafeBytes { writeAll(fd, $0) }
        let syncOK = fsync(fd) == 0
        close(fd)
        guard ok, syncOK else {
            let code = errno
            unlink(tmp)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        guard rename(tmp, path) == 0 else {
            let code = errno
            unlink(tmp)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        syncFolder(of: path)
    }

    /// Writes all of `bytes` to `fd` at its offset (or at `position`, leaving its offset), again
    /// after an interrupted or short write; false on a failure (its errno left in `errno`).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at position: Int? = nil) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let rest = (bytes.baseAddress! + offset, bytes.count - offset)
            let n = position.map { pwrite(fd, rest.0, rest.1, off_t($0 + offset)) } ?? Foundation.write(fd, rest.0, rest.1)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    public static func syncFolder(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Streams a file through `produce` (which calls its sink with chunks) to a `.tmp` name,
    /// fsyncs and renames it; returns the SHA-256 of what was written. Memory stays flat: a large
    /// file is hashed and written a mebibyte at a time on a thread of its own (`StreamSink`)
    /// while `produce` makes the next chunk.
    public static func stream(to path: String, permissions: mode_t = 0o644, _ produce: (StreamSink) throws -> Void) throws -> String {
        let tmp = path + ".tmp"
        // Not FileManager.createFile: it writes through a hidden `.dat.nosync*` file of its own,
        // which a kill at the wrong instant leaves behind in the outbound folder.
        let handle = try openForWriting(tmp, permissions: permissions, append: false)
        let sink = StreamSink(handle)
        let digest: SHA256.Digest
        do {
            try produce(sink)
            digest = try sink.finish()
            try handle.synchronize()
            try handle.close()
        } catch {
            sink.abandon()
            try? handle.close()
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            let code = errno
            unlink(tmp)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        syncFolder(of: path)
        return SHA256Text.hex(digest: digest)
    }

    /// Opens (creating with exactly `permissions`) a file for writing, truncated or for
    /// appending. Not `FileManager.createFile`: that writes through a hidden `.dat.nosync*`
    /// file of its own, which a kill at the wrong instant leaves behind.
    public static func openForWriting(_ path: String, permissions: mode_t, append: Bool) throws -> FileHandle {
        let fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), permissions)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        if !append { fchmod(fd, permissions) }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Writes the companions of a finished outbound file: `<name>.sha256` when asked, then the
    /// zero-byte `<name>.done` marker receivers act on.
    public static func writeCompanions(of path: String, digest: String, checksum: Bool) throws {
        if checksum {
            let name = (path as NSString).lastPathComponent
            try write(Data("\(digest)  \(name)\n".utf8), to: path + ".sha256")
        }
        try write(Data(), to: path + ".done")
    }
}

/// What `AtomicFile.stream` hands its producer: takes the file's bytes in order, gathers them
/// into chunks of a mebibyte, and hashes and writes the chunks in order on a thread of its own
/// (started with the second chunk: a file of one chunk is written at once, without a thread). On
/// a large file the kernel's copy into the page cache and the hashing took half the time of the
/// thread formatting it (a 1.4 GB labor file). At most `capacity` chunks wait, so memory stays
/// bounded.
public final class StreamSink: @unchecked Sendable {
    static let chunkBytes = 1 << 20
    static let capacity = 4
    let handle: FileHandle
    var buffer = Data()
    /// Chunks to write; nil after the last. The writer cancels it when a write fails.
    let chunks = BoundedQueue<Data?>(capacity: capacity)
    let stopped = DispatchSemaphore(value: 0)
    var running = false
    /// Written by the writer thread before it cancels `chunks` or stops; read after either.
    var hasher = SHA256()
    var failure: (any Error)?

    init(_ handle: FileHandle) { self.handle = handle }

    public func callAsFunction(_ data: Data) throws {
        buffer.append(data)
        try handOverIfFull()
    }

    public func callAsFunction(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        try handOverIfFull()
    }

    public func callAsFunction(_ bytes: ArraySlice<UInt8>) throws {
        bytes.withUnsafeBufferPointer { buffer.append($0) }
        try handOverIfFull()
    }

    func handOverIfFull() throws {
        guard buffer.count >= Self.chunkBytes else { return }
        if !running {
            running = true
            let thread = Thread { [self] in run() }
            thread.name = "dropline-file-writer"
            thread.start()
        }
        do { try chunks.put(buffer) } catch { throw failure ?? error }
        buffer = Data(capacity: Self.chunkBytes + (1 << 16))
    }

    /// Writes the rest and waits for every chunk; the digest of all of them, or the first failure.
    func finish() throws -> SHA256.Digest {
        if running {
            do { try chunks.put(buffer) } catch { throw failure ?? error }
            try? chunks.put(nil)
            stopped.wait()
            running = false
        } else {
            hasher.update(data: buffer)
            try handle.write(contentsOf: buffer)
        }
        buffer = Data()
        if let failure { throw failure }
        return hasher.finalize()
    }

    /// Drops what is queued and waits for the thread; idempotent.
    func abandon() {
        chunks.cancel()
        if running {
            stopped.wait()
            running = false
        }
    }

    func run() {
        while let item = chunks.take(), let chunk = item {
            do {
                hasher.update(data: chunk)
                try handle.write(contentsOf: chunk)
            } catch {
                failure = error
                chunks.cancel()
            }
        }
        stopped.signal()
    }
}

/// Reads a text file line by line in fixed chunks (memory stays flat, whatever its size).
enum LineReader {
    /// Calls `body` with each line's bytes, without its newline; a last line without one too.
    static func forEachLine(path: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { try? handle.close() }
        var pending: [UInt8] = []
        while let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty {
            pending.append(contentsOf: chunk)
            var start = 0
            try pending.withUnsafeBufferPointer { buf in
                for i in 0..<buf.count where buf[i] == UInt8(ascii: "\n") {
                    try body(UnsafeBufferPointer(rebasing: buf[start..<i]))
                    start = i + 1
                }
            }
            pending.removeFirst(start)
        }
        if !pending.isEmpty { try pending.withUnsafeBufferPointer { try body($0) } }
    }
}
