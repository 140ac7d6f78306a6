import Foundation
import GRDB

/// A file database in WAL mode (a second connection, a checkpoint, need a file) in a folder of
/// its own, with `schema` run once; the caller removes `folder`.
func walDatabase(_ name: String, schema: String) throws -> (queue: DatabaseQueue, folder: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var config = Configuration()
    config.prepareDatabase { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
    let queue = try DatabaseQueue(path: dir + "/\(name).sqlite", configuration: config)
    try queue.write { try $0.execute(sql: schema) }
    return (queue, dir)
}
