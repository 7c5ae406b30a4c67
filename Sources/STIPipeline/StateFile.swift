import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// What a `--state` path names, found before SQLite (or a rebuild) touches it: `--state` set
/// to the wrong file must never have that file replaced by, or turned into, an sti state.
enum StateFileIdentity: Equatable {
    case absent
    /// A 0-byte regular file (`touch`, `mktemp`): SQLite makes it a new database.
    case empty
    case stiState
    case directory
    case notRegularFile
    case notSQLite
    case sqliteWithoutMeta
    case unreadableSQLite(String)
    case unreadable(String)
}

/// The state file's path, identity and the file operations of a rebuild.
enum StateFile {
    /// The real path of `path`: `realpath` of the file, or of its directory plus the name when
    /// the file does not exist yet. The run lock is taken on it, so two spellings of one state
    /// (a symlink, `./x/../state.db`) are one lock.
    static func resolve(_ path: String) throws(StateStoreError) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        let code = errno
        guard code == ENOENT else {
            throw StateStoreError(
                .pathUnusable, path: path, errno: code,
                "state file \(path) cannot be used: \(String(cString: strerror(code)))")
        }
        var st = stat()
        if lstat(path, &st) == 0 {
            throw StateStoreError(
                .pathUnusable, path: path,
                "state file \(path) is a symbolic link to a file that does not exist; give --state the target's own path"
            )
        }
        let name = (path as NSString).lastPathComponent
        var directory = (path as NSString).deletingLastPathComponent
        if directory.isEmpty { directory = "." }
        guard let resolvedDirectory = realpath(directory, nil) else {
            throw StateStoreError(
                .pathUnusable, path: path, errno: errno,
                "state file \(path) cannot be created: its directory \(directory): \(String(cString: strerror(errno)))")
        }
        defer { free(resolvedDirectory) }
        let base = String(cString: resolvedDirectory)
        return base == "/" ? "/" + name : base + "/" + name
    }

    /// What the file at `real` is. Reads at most the SQLite header and, read-only, the schema.
    static func identify(_ real: String) -> StateFileIdentity {
        var st = stat()
        guard stat(real, &st) == 0 else {
            return errno == ENOENT ? .absent : .unreadable(String(cString: strerror(errno)))
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: break
        default: return .notRegularFile
        }
        if st.st_size == 0 { return .empty }
        let fd = open(real, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .unreadable(String(cString: strerror(errno))) }
        var header = [UInt8](repeating: 0, count: 16)
        let n = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, 16) }
        close(fd)
        guard n == 16, header == Array("SQLite format 3\0".utf8) else { return .notSQLite }
        do {
            return try hasMetaTable(real, readonly: true) ? .stiState : .sqliteWithoutMeta
        } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY {
            // A WAL left by a killed writer must be recovered first, which a read-only connection
            // cannot do (it writes the -shm index); a read-write one only reads here.
            do { return try hasMetaTable(real, readonly: false) ? .stiState : .sqliteWithoutMeta } catch {
                return .unreadableSQLite("\(error)")
            }
        } catch {
            return .unreadableSQLite("\(error)")
        }
    }

    private static func hasMetaTable(_ real: String, readonly: Bool) throws -> Bool {
        var config = Configuration()
        config.readonly = readonly
        config.label = "sti-state-identify"
        let queue = try DatabaseQueue(path: real, configuration: config)
        defer { try? queue.close() }
        return try queue.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')") ?? false
        }
    }

    /// Nil when a file of this identity may be opened as a state (and replaced by a rebuild);
    /// else why not (code `notAState`). None of these suggests `--rebuild`: a rebuild refuses
    /// them too.
    static func refusal(_ identity: StateFileIdentity, path: String) -> StateStoreError? {
        refusalText(identity, path: path).map { StateStoreError(.notAState, path: path, $0) }
    }

    private static func refusalText(_ identity: StateFileIdentity, path: String) -> String? {
        let untouched = "nothing was changed; check --state (STI_STATE)"
        switch identity {
        case .absent, .empty, .stiState:
            return nil
        case .directory:
            return
                "state file \(path) is a directory, not an sti state; \(untouched), it names a file such as \(path)/state.db"
        case .notRegularFile:
            return
                "state file \(path) is not a regular file (a device, pipe or socket), so it is not an sti state; \(untouched)"
        case .notSQLite:
            return
                "state file \(path) is not an SQLite database (it does not start with the SQLite header), so it is not an sti state; \(untouched)"
        case .sqliteWithoutMeta:
            return "state file \(path) is an SQLite database but not an sti state (no meta table); \(untouched)"
        case .unreadableSQLite(let reason):
            return
                "state file \(path) is an SQLite database whose tables cannot be read (\(reason)), so it cannot be told to be an sti state; "
                + "\(untouched). If it is a damaged sti state, move it away yourself: the next run rebuilds the state from the topics"
        case .unreadable(let reason):
            return "state file \(path) cannot be read: \(reason)"
        }
    }

    // MARK: Rebuild

    /// Where a rebuild by this process builds the new state: beside the old one, so the final
    /// rename stays within one directory (one file system).
    static func rebuildPath(of real: String) -> String { real + ".rebuild-\(getpid())" }

    /// Removes what a killed rebuild left beside `real` (`<state>.rebuild-<pid>` and its `-wal`,
    /// `-shm`). Only called with the run lock held: no live run is building one.
    static func removeStaleRebuilds(of real: String) {
        let directory = (real as NSString).deletingLastPathComponent
        let prefix = (real as NSString).lastPathComponent + ".rebuild-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            let pid = rest.split(separator: "-", maxSplits: 1).first ?? ""
            guard !pid.isEmpty, pid.allSatisfy(\.isNumber),
                ["", "-wal", "-shm"].contains(String(rest.dropFirst(pid.count)))
            else { continue }
            unlink(directory + "/" + name)
        }
    }

    /// Merges the WAL of the state at `real` into the file, so that no old `-wal` can be taken
    /// for the new state's once the rebuilt file is renamed over it; then removes the side
    /// files. A state SQLite cannot open loses its WAL here: it is the one being replaced.
    static func retireSideFiles(of real: String) {
        if access(real + "-wal", F_OK) == 0, identify(real) == .stiState {
            var config = Configuration()
            config.label = "sti-state-retire"
            if let queue = try? DatabaseQueue(path: real, configuration: config) {
                try? queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
                try? queue.close()
            }
        }
        unlink(real + "-wal")
        unlink(real + "-shm")
    }

    static func fsync(path: String, directory: Bool) throws(StateStoreError) {
        let fd = open(path, (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC)
        guard fd >= 0 else {
            throw StateStoreError(
                .rebuildIncomplete, path: path, errno: errno,
                "cannot open \(path) to sync it: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        guard Glibc.fsync(fd) == 0 else {
            throw StateStoreError(
                .rebuildIncomplete, path: path, errno: errno,
                "cannot fsync \(path): \(String(cString: strerror(errno)))")
        }
    }
}
