import DroplineCore
import Foundation
import GRDB

/// The warehouse database (SQLite via GRDB, WAL). Pipeline tables are created from definitions;
/// `_dropline_file_load` records, in the same transaction as the data, which file was loaded,
/// so a rerun after a crash can tell.
public enum Warehouse {
    public static func open(path: String) throws -> DatabaseQueue {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let queue = try DatabaseQueue(path: path, configuration: config)
        var m = DatabaseMigrator()
        m.registerMigration("v1: _dropline_file_load") { db in
            try db.execute(sql: """
                CREATE TABLE _dropline_file_load (
                    sha256 TEXT PRIMARY KEY, pipeline TEXT NOT NULL, name TEXT NOT NULL,
                    export_id TEXT, business_date TEXT, run_id TEXT NOT NULL,
                    loaded INTEGER NOT NULL, rejected INTEGER NOT NULL)
                """)
        }
        try m.migrate(queue)
        return queue
    }
}
