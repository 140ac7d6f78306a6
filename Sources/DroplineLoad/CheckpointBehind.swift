import Foundation
import GRDB
import GRDBSQLite

/// Moves the write-ahead log into the database file on a thread of its own, while the run goes
/// on. SQLite checkpoints on the connection that commits, once the log passes 1,000 pages: after
/// a large file's load that was the whole load copied again (3 GB, about 10 s on the 1 GB night)
/// on the thread that then writes the outbound files, refreshes utilization and writes the
/// manifests. Installed on a connection, it replaces that connection's automatic checkpoints: a
/// commit that leaves the log at or past `frames` pages only wakes the checkpointing thread,
/// which runs a passive checkpoint (it never waits for, nor blocks, a reader or the writer) on a
/// connection of its own. A checkpoint that fails or finds the log busy is left to the next one
/// (SQLite's own checkpoint as the last connection closes, or the next run): the log is part of
/// the database, and nothing is lost while it stays.
///
/// `stop()` must run before the connection closes; it waits for the checkpoint in progress,
/// gives the connection back its automatic checkpoints and ends the thread.
public final class CheckpointBehind: @unchecked Sendable {
    let connection: OpaquePointer
    let checkpointer: OpaquePointer
    let frames: Int32
    /// Guards `requested`, `stopping`.
    let state = NSCondition()
    var requested = false
    var stopping = false
    let finished = DispatchSemaphore(value: 0)
    var running = false
    /// Checkpoints run (for tests).
    public private(set) var checkpoints = 0

    /// Nil for a database without a file (nothing to checkpoint) or when the second connection
    /// cannot be opened (the connection keeps its automatic checkpoints).
    public init?(on db: Database, frames: Int32 = 1000) {
        guard let main = db.sqliteConnection, let name = sqlite3_db_filename(main, "main"), name.pointee != 0 else { return nil }
        var h: OpaquePointer?
        guard sqlite3_open_v2(name, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let h else {
            if let h { sqlite3_close_v2(h) }
            return nil
        }
        // The log is synced before its pages are copied, the database file after.
        sqlite3_exec(h, "PRAGMA synchronous = FULL", nil, nil, nil)
        connection = main
        checkpointer = h
        self.frames = frames
        // Replaces the automatic checkpoint, which is a log hook too.
        sqlite3_wal_hook(main, { context, _, _, pages in
            guard let context else { return SQLITE_OK }
            let behind = Unmanaged<CheckpointBehind>.fromOpaque(context).takeUnretainedValue()
            if pages >= behind.frames { behind.request() }
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { sqlite3_close_v2(checkpointer) }

    func request() {
        state.lock()
        defer { state.unlock() }
        guard !stopping else { return }
        requested = true
        if !running {
            running = true
            let thread = Thread { [self] in loop() }
            thread.name = "dropline-checkpoint"
            thread.start()
        }
        state.signal()
    }

    func loop() {
        while true {
            state.lock()
            while !requested && !stopping { state.wait() }
            let go = requested
            requested = false
            state.unlock()
            guard go else { break }
            _ = sqlite3_wal_checkpoint_v2(checkpointer, "main", SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            checkpoints += 1
        }
        finished.signal()
    }

    /// Waits for the checkpoints asked for (the one in progress and one requested after it),
    /// restores the connection's automatic checkpoints and ends the thread. Call where the
    /// connection is not in use (its queue), before it closes; idempotent.
    public func stop() {
        state.lock()
        let wasStopping = stopping
        stopping = true
        let started = running
        state.signal()
        state.unlock()
        guard !wasStopping else { return }
        if started { finished.wait() }
        sqlite3_wal_autocheckpoint(connection, 1000)
    }
}
