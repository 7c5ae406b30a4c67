// Run folders and the `latest` link of section 8.
//
// Durability order: each CSV is written and fsynced, then manifest.json (so a folder with a
// manifest is complete), then the run folder and `runs/` are fsynced; only then may `latest`
// move, by renaming a fresh symlink over it (rename(2) is atomic: a reader sees the old run or
// the new one, never a half-written folder).

import Crypto
public import Foundation
public import STIProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A snapshot folder that cannot be written or published, with the path and the reason.
public struct SnapshotError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }

    static func posix(_ what: String, _ path: String, _ code: Int32 = errno) -> SnapshotError {
        SnapshotError("\(what) \(path): \(String(cString: strerror(code)))")
    }
}

/// What a run knows besides the tables, for its manifest.
public struct ManifestInputs: Sendable, Hashable {
    public var startedAt: Date
    public var finishedAt: Date
    public var programVersion: String
    public var authenticationEnabled: Bool
    public var offsets: [TopicPartitionRange]
    public var counts: RunCounts
    public var previousRunId: String?

    public init(
        startedAt: Date, finishedAt: Date, programVersion: String, authenticationEnabled: Bool,
        offsets: [TopicPartitionRange], counts: RunCounts, previousRunId: String?
    ) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.programVersion = programVersion
        self.authenticationEnabled = authenticationEnabled
        self.offsets = offsets
        self.counts = counts
        self.previousRunId = previousRunId
    }
}

/// Writes run folders `<out>/runs/<run_id>/` and moves `<out>/latest` to them (section 8).
public struct SnapshotWriter: Sendable {
    /// The output directory (`--out`).
    public let out: URL

    public init(out: URL) { self.out = out }

    /// A file built from the tables besides the CSVs (snapshot.xlsx; SnapshotTables.swift).
    public var extraFile: SnapshotExtraFile?

    public static let indicatorsFile = "indicators.csv"
    public static let completenessFile = "completeness.csv"
    public static let rejectionsFile = "rejections.csv"
    public static let warningsFile = "warnings.csv"
    public static let manifestFile = "manifest.json"
    /// Upper bound on `-N` suffixes tried for one start second.
    static let maxRunIdSuffix = 10_000

    var outPath: String { out.path }
    var runsPath: String { outPath + "/runs" }
    func runPath(_ runId: String) -> String { runsPath + "/" + runId }

    // MARK: Checks

    /// Makes sure `<out>` and `<out>/runs` exist and a file can be created in both: the CLI
    /// calls this before consuming anything, so an unusable `--out` fails early and clearly.
    public func checkWritable() throws(SnapshotError) {
        for (path, label) in [(outPath, "output directory"), (runsPath, "runs directory")] {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
                guard isDir.boolValue else { throw SnapshotError("\(label) \(path) exists but is not a directory") }
            } else {
                do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                    throw SnapshotError("cannot create \(label) \(path): \(Self.reason(error))")
                }
            }
            // A new file of a random name, created exclusively and never through a symlink: a
            // link planted at a predictable name must not make the probe truncate its target.
            let probe: (fd: Int32, path: String)
            do { probe = try ExclusiveFile.create(prefix: path + "/.sti-write-probe-", mode: 0o600) } catch {
                throw .posix("\(label) is not writable: cannot create a file in", path, error.code)
            }
            close(probe.fd)
            unlink(probe.path)
        }
    }

    public static func checkWritable(out: URL) throws(SnapshotError) { try SnapshotWriter(out: out).checkWritable() }

    // MARK: Run ids

    /// Reserves the run id for a run that started at `start`: `YYYYMMDDTHHMMSSZ` (UTC), or with
    /// `-2`, `-3`, … when that folder exists. Reserving creates the (empty) run folder, so two
    /// runs can never pick the same id.
    public func allocateRunId(start: Date) throws(SnapshotError) -> String {
        try checkWritable()
        let base = UTCTime.runIdBase(start)
        for n in 1...Self.maxRunIdSuffix {
            let id = n == 1 ? base : "\(base)-\(n)"
            if mkdir(runPath(id), 0o755) == 0 {
                try Self.fsyncDirectory(runsPath)
                return id
            }
            guard errno == EEXIST else { throw .posix("cannot create run folder", runPath(id)) }
        }
        throw SnapshotError("no free run id for \(base) in \(runsPath) after \(Self.maxRunIdSuffix) tries")
    }

    public static func allocateRunId(out: URL, start: Date) throws(SnapshotError) -> String {
        try SnapshotWriter(out: out).allocateRunId(start: start)
    }

    // MARK: Writing

    /// Writes the CSV files and then `manifest.json` into the run folder `runId`
    /// (created if absent; files already there are not overwritten). Returns the manifest.
    @discardableResult
    public func write(
        runId: String, indicators: [IndicatorRow], completeness: [CompletenessRow],
        rejections: [RejectionRow], inputs: ManifestInputs
    ) throws(SnapshotError) -> Manifest {
        try write(
            runId: runId, indicators: indicators, completeness: completeness,
            rejections: { emit in for row in rejections { try emit(row) } }, inputs: inputs)
    }

    /// The same, with the rows of `rejections.csv` handed over one at a time by `rejections`
    /// (which calls its argument for each row, in order): they are written through a small
    /// buffer and hashed as they go, so memory does not grow with their number. `warnings.csv`
    /// has only its header.
    @discardableResult
    public func write(
        runId: String, indicators: [IndicatorRow], completeness: [CompletenessRow],
        rejections: ((RejectionRow) throws -> Void) throws -> Void,
        inputs: ManifestInputs
    ) throws(SnapshotError) -> Manifest {
        try write(
            runId: runId, indicators: indicators, completeness: completeness, rejections: rejections,
            warnings: { _ in }, inputs: inputs)
    }

    /// The same, with the rows of `warnings.csv` (section 8) handed over one at a time by
    /// `warnings`, in order, streamed like those of `rejections.csv`; with `analysts`, also
    /// `revisions.csv`, `records/<year>/*.csv` and `report.html` (AnalystFiles.swift).
    @discardableResult
    public func write(
        runId: String, indicators: [IndicatorRow], completeness: [CompletenessRow],
        rejections: ((RejectionRow) throws -> Void) throws -> Void,
        warnings: ((WarningRow) throws -> Void) throws -> Void,
        inputs: ManifestInputs, analysts: AnalystFiles? = nil
    ) throws(SnapshotError) -> Manifest {
        guard Self.isValidRunId(runId) else { throw SnapshotError("not a run id: \(runId)") }
        let dir = runPath(runId)
        if mkdir(dir, 0o755) != 0 && errno != EEXIST { throw .posix("cannot create run folder", dir) }
        var files: [ManifestFile] = []
        for (name, header, rows) in [
            (Self.indicatorsFile, indicatorsCSVHeader, indicators.map(\.csvCells)),
            (Self.completenessFile, completenessCSVHeader, completeness.map(\.csvCells)),
        ] {
            var file = try DurableFile(creating: dir + "/" + name)
            try file.append(CSVWriter.line(header.map(CSVCell.text)))
            for row in rows { try file.append(CSVWriter.line(row)) }
            files.append(ManifestFile(name: name, rows: rows.count, sha256: try file.finish()))
        }
        files.append(
            try Self.writeStreamed(
                dir: dir, name: Self.rejectionsFile, header: rejectionsCSVHeader,
                what: "rejections", rows: rejections, cells: \.csvCells))
        let warningCells = CellCollector(enabled: extraFile != nil)
        files.append(
            try Self.writeStreamed(
                dir: dir, name: Self.warningsFile, header: warningsCSVHeader, what: "warnings",
                rows: warnings, cells: { warningCells.keep($0.csvCells) }))
        var manifest = Manifest(
            runId: runId, startedAt: UTCTime.rfc3339(inputs.startedAt), finishedAt: UTCTime.rfc3339(inputs.finishedAt),
            programVersion: inputs.programVersion,
            authentication: inputs.authenticationEnabled ? "enabled" : "disabled",
            offsets: inputs.offsets.sorted(), counts: inputs.counts, previousRunId: inputs.previousRunId, files: files)
        var revisionCells: [[CSVCell]]?
        if let analysts {
            let written = try Self.writeAnalystTables(
                dir: dir, indicators: indicators, analysts: analysts, runsPath: runsPath)
            manifest.files += written.files
            revisionCells = written.revisions
        }
        if let extraFile {
            // One entry per table, each the cells its CSV was written from.
            var tables = [
                WorkbookTable(
                    name: "indicators", file: Self.indicatorsFile, header: indicatorsCSVHeader,
                    rows: indicators.map(\.csvCells), statusColumn: "status"),
                WorkbookTable(
                    name: "completeness", file: Self.completenessFile, header: completenessCSVHeader,
                    rows: completeness.map(\.csvCells), statusColumn: "status"),
                WorkbookTable(
                    name: "warnings", file: Self.warningsFile, header: warningsCSVHeader, rows: warningCells.rows,
                    statusColumn: "disposition"),
            ]
            if let revisionCells {
                tables.append(
                    WorkbookTable(
                        name: "revisions", file: Self.revisionsFile, header: revisionsCSVHeader, rows: revisionCells,
                        statusColumn: "status"))
            }
            let bytes: [UInt8]
            do { bytes = try extraFile.build(tables) } catch {
                throw SnapshotError("cannot build \(extraFile.name): \(error)")
            }
            var file = try DurableFile(creating: dir + "/" + extraFile.name)
            try file.append(bytes)
            manifest.files.append(
                ManifestFile(
                    name: extraFile.name, rows: tables.reduce(0) { $0 + $1.rows.count }, sha256: try file.finish()))
        }
        if let analysts {
            let html: String
            do { html = try ReportHTML.render(folder: dir, manifest: manifest, registry: analysts.registry) } catch {
                throw SnapshotError("cannot render \(Self.reportFile): \(error)")
            }
            manifest.files.append(try Self.writeReport(dir: dir, html: html))
        }
        let data: Data
        do { data = try manifest.encoded() } catch { throw SnapshotError("cannot encode the manifest: \(error)") }
        try Self.writeDurably(Array(data), to: dir + "/" + Self.manifestFile)
        try Self.fsyncDirectory(dir)
        try Self.fsyncDirectory(runsPath)
        return manifest
    }

    /// Writes one CSV whose rows `rows` hands over one at a time, through `DurableFile`'s
    /// buffer, hashing as it goes: memory does not grow with the rows.
    static func writeStreamed<Row>(
        dir: String, name: String, header: [String], what: String,
        rows: ((Row) throws -> Void) throws -> Void,
        cells: @escaping (Row) -> [CSVCell]
    ) throws(SnapshotError) -> ManifestFile {
        var file = try DurableFile(creating: dir + "/" + name)
        try file.append(CSVWriter.line(header.map(CSVCell.text)))
        var count = 0
        do {
            try rows { row in
                try file.append(CSVWriter.line(cells(row)))
                count += 1
            }
        } catch let error as SnapshotError {
            file.abandon()
            throw error
        } catch {
            file.abandon()
            throw SnapshotError("cannot read the \(what) for \(name): \(error)")
        }
        return ManifestFile(name: name, rows: count, sha256: try file.finish())
    }

    // MARK: Publishing

    /// Points `<out>/latest` at `runs/<runId>` atomically: a temporary symlink renamed over
    /// `latest`, then the output directory fsynced. Refuses a run folder without a manifest.
    public func publishLatest(runId: String) throws(SnapshotError) {
        guard Self.isValidRunId(runId) else { throw SnapshotError("not a run id: \(runId)") }
        let manifest = runPath(runId) + "/" + Self.manifestFile
        guard access(manifest, F_OK) == 0 else {
            throw SnapshotError("run \(runId) is incomplete (no \(manifest)); latest not moved")
        }
        let temp = outPath + "/.latest.tmp-\(getpid())"
        if unlink(temp) != 0 && errno != ENOENT { throw .posix("cannot remove stale temporary link", temp) }
        guard symlink("runs/" + runId, temp) == 0 else { throw .posix("cannot create temporary link", temp) }
        let latest = outPath + "/latest"
        guard rename(temp, latest) == 0 else {
            let code = errno
            unlink(temp)
            throw .posix("cannot move latest (is it a directory rather than a link?)", latest, code)
        }
        try Self.fsyncDirectory(outPath)
    }

    public static func publishLatest(out: URL, runId: String) throws(SnapshotError) {
        try SnapshotWriter(out: out).publishLatest(runId: runId)
    }

    /// Removes the `.latest.tmp-<pid>` links a run killed between creating one and renaming it
    /// over `latest` left behind (harmless, but they stayed for good): those of processes that
    /// no longer exist, and this process's own.
    public func removeStaleTemporaryLinks() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: outPath) else { return }
        for name in names where name.hasPrefix(".latest.tmp-") {
            guard let pid = Int32(name.dropFirst(".latest.tmp-".count)), pid > 0 else { continue }
            if pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH) { unlink(outPath + "/" + name) }
        }
    }

    /// The run `latest` points to, nil when there is no `latest` link (first run) or it does
    /// not point into `runs/`.
    public func latestRunId() -> String? {
        var buffer = [CChar](repeating: 0, count: 4_096)
        let n = readlink(outPath + "/latest", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let target = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard target.hasPrefix("runs/") else { return nil }
        let id = String(target.dropFirst("runs/".count))
        return Self.isValidRunId(id) ? id : nil
    }

    public static func latestRunId(out: URL) -> String? { SnapshotWriter(out: out).latestRunId() }

    // MARK: Helpers

    /// `YYYYMMDDTHHMMSSZ` optionally followed by `-N`; keeps paths inside `runs/`.
    public static func isValidRunId(_ id: String) -> Bool {
        let u = Array(id.utf8)
        guard u.count >= 16, u.count <= 24 else { return false }
        func digits(_ r: Range<Int>) -> Bool { u[r].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard digits(0..<8), u[8] == UInt8(ascii: "T"), digits(9..<15), u[15] == UInt8(ascii: "Z") else { return false }
        if u.count == 16 { return true }
        return u[16] == UInt8(ascii: "-") && u.count > 17 && digits(17..<u.count) && u[17] != UInt8(ascii: "0")
    }

    /// The SHA-256 of `bytes` in lower-case hex, as the manifest lists files.
    static func sha256Hex(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }

    /// Creates `path` (which must not exist), writes every byte, fsyncs and closes it.
    static func writeDurably(_ bytes: [UInt8], to path: String) throws(SnapshotError) {
        var file = try DurableFile(creating: path)
        try file.append(bytes)
        _ = try file.finish()
    }

    /// A snapshot file written through a 256 KiB buffer and hashed as it goes: created
    /// exclusively, fsynced and closed by `finish`, which returns the SHA-256.
    struct DurableFile: ~Copyable {
        let path: String
        private let fd: Int32
        private var buffer: [UInt8] = []
        private var hash = SHA256()
        private var isOpen = true

        init(creating path: String) throws(SnapshotError) {
            self.path = path
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .posix("cannot create", path) }
            buffer.reserveCapacity(Self.capacity)
        }

        static let capacity = 256 * 1024

        mutating func append(_ text: String) throws(SnapshotError) { try append(text.utf8) }

        mutating func append(_ bytes: some Sequence<UInt8>) throws(SnapshotError) {
            buffer.append(contentsOf: bytes)
            if buffer.count >= Self.capacity { try drain() }
        }

        private mutating func drain() throws(SnapshotError) {
            hash.update(data: buffer)
            var written = 0
            while written < buffer.count {
                let n = buffer.withUnsafeBytes { b in posixWrite(fd, b.baseAddress! + written, b.count - written) }
                if n < 0 {
                    if errno == EINTR { continue }
                    let code = errno
                    abandon()
                    throw .posix("cannot write", path, code)
                }
                written += n
            }
            buffer.removeAll(keepingCapacity: true)
        }

        /// Writes what is buffered, fsyncs and closes; returns the file's SHA-256 in hex.
        mutating func finish() throws(SnapshotError) -> String {
            try drain()
            isOpen = false
            if fsync(fd) != 0 {
                let code = errno
                close(fd)
                throw .posix("cannot fsync", path, code)
            }
            if close(fd) != 0 { throw .posix("cannot close", path) }
            return SnapshotWriter.hex(hash.finalize())
        }

        /// Closes without finishing (after an error); the folder has no manifest, so it never
        /// counts as a snapshot.
        mutating func abandon() {
            if isOpen {
                close(fd)
                isOpen = false
            }
        }

        deinit { if isOpen { close(fd) } }
    }

    /// fsyncs a directory so the names created in it survive a crash.
    static func fsyncDirectory(_ path: String) throws(SnapshotError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .posix("cannot open directory", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .posix("cannot fsync directory", path) }
    }

    static func reason(_ error: any Error) -> String { error.localizedDescription }
}

/// write(2), named apart from `SnapshotWriter.write`.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(fd, buffer, count)
    #else
        Darwin.write(fd, buffer, count)
    #endif
}
