@testable import DroplineRuntime
import Foundation
import Testing

/// `AtomicFile.stream`: what it returns is the SHA-256 of exactly the bytes it left under the
/// name, whether the file fits one chunk or spans many (hashed and written on another thread),
/// and a producer that fails leaves nothing behind.
final class AtomicFileTests {
    let dir = NSTemporaryDirectory() + "dropline-atomic-" + UUID().uuidString

    init() throws { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// Deterministic bytes: chunk `i` of `size` bytes.
    static func chunk(_ i: Int, _ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i &* 7) } }

    @Test(arguments: [0, 1_000, 3_500_000])
    func theDigestIsThatOfTheBytesWritten(total: Int) throws {
        let path = dir + "/out-\(total).xml"
        var expected: [UInt8] = []
        var i = 0
        let digest = try AtomicFile.stream(to: path) { sink in
            // Uneven chunk sizes, through both kinds of sink call.
            while expected.count < total {
                let bytes = Self.chunk(i, min(total - expected.count, [1, 700, 65_536, 300_000][i % 4]))
                expected += bytes
                if i % 2 == 0 { try sink(bytes) } else { try sink(Data(bytes)) }
                i += 1
            }
        }
        let written = try #require(FileManager.default.contents(atPath: path))
        #expect(written == Data(expected))
        #expect(digest == (try FileDigest.sha256(path: path)).hex)
        if total == 0 { #expect(digest == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") }
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }

    /// A write that fails on the writer's thread (`/dev/full`: no space) reaches the producer,
    /// at its next chunk or at the end, and nothing waits forever.
    @Test func aFailedWriteReachesTheProducer() throws {
        let handle = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let sink = StreamSink(handle)
        let chunk = Data(Self.chunk(1, 1 << 20))
        var failed = false
        do {
            for _ in 0..<16 { try sink(chunk) }
            _ = try sink.finish()
        } catch {
            failed = true
        }
        sink.abandon()
        #expect(failed)
    }

    struct ProducerFailed: Error {}

    @Test(arguments: [10, 2_600_000])
    func aFailingProducerLeavesNoFile(before: Int) throws {
        let path = dir + "/failed-\(before).xml"
        #expect(throws: ProducerFailed.self) {
            _ = try AtomicFile.stream(to: path) { sink in
                try sink(Self.chunk(0, before))
                throw ProducerFailed()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }
}
