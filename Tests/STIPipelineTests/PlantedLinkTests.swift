// Hostile review #13: files sti creates in a directory someone else might write (the `--out`
// write probe, the metrics textfile's temporary copy) must never follow a planted symlink.
// The links are planted at exactly the names the old code used (`.sti-write-probe-<pid>`,
// `<file>.tmp.<pid>`, with this process's pid and its neighbours); the victim must be unchanged.
import Foundation
import STITestSupport
import Testing

@testable import STIPipeline
@testable import STIProtocol

@Suite struct PlantedLinkTests {
    static let victimText = "precious data\n"

    /// A victim file outside the directory under attack, and its text read back.
    static func victim(in dir: TemporaryDirectory) throws -> String {
        let path = dir.file("victim.txt")
        try victimText.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    static func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    static func plant(_ link: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    }

    /// Names in `dir` other than the planted links.
    static func strays(in dir: String, planted: Set<String>) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { !planted.contains($0) }
    }

    @Test("the --out write probe does not follow links planted at .sti-write-probe-<pid>")
    func writeProbeIgnoresPlantedLinks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let victim = try Self.victim(in: dir)
        let out = dir.file("out")
        try FileManager.default.createDirectory(atPath: out + "/runs", withIntermediateDirectories: true)
        let pid = Int(getpid())
        var planted: Set<String> = []
        for n in max(1, pid - 5)...(pid + 200) {
            let name = ".sti-write-probe-\(n)"
            try Self.plant(out + "/" + name, to: victim)
            try Self.plant(out + "/runs/" + name, to: victim)
            planted.insert(name)
        }
        try SnapshotWriter.checkWritable(out: URL(fileURLWithPath: out))
        #expect(try Self.text(victim) == Self.victimText, "the probe wrote through a planted link")
        // The probe leaves nothing behind (its own file has a random name and is removed).
        #expect(try Self.strays(in: out, planted: planted) == ["runs"])
        #expect(try Self.strays(in: out + "/runs", planted: planted).isEmpty)
    }

    @Test("the metrics textfile's temporary copy does not follow a link planted at <file>.tmp.<pid>")
    func metricsFileIgnoresPlantedLinks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let victim = try Self.victim(in: dir)
        let metricsDir = dir.file("textfiles")
        try FileManager.default.createDirectory(atPath: metricsDir, withIntermediateDirectories: true)
        let path = metricsDir + "/sti.prom"
        let pid = Int(getpid())
        var planted: Set<String> = []
        for n in max(1, pid - 5)...(pid + 200) {
            try Self.plant(path + ".tmp.\(n)", to: victim)
            planted.insert("sti.prom.tmp.\(n)")
        }
        try MetricsFile.write(path: path, summary: nil, duration: nil, context: .init())
        #expect(try Self.text(victim) == Self.victimText, "the metrics text went through a planted link")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect(attributes[.type] as? FileAttributeType == .typeRegular, "sti.prom is \(attributes[.type] ?? "?")")
        #expect(attributes[.posixPermissions] as? Int == 0o644)
        #expect(try Self.text(path).contains("sti_aggregate_last_run_success 0"))
        #expect(try Self.strays(in: metricsDir, planted: planted) == ["sti.prom"])
    }

    @Test("a new file is never opened through a symlink, even a dangling one, nor over an existing file")
    func newFilesAreExclusive() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let victim = try Self.victim(in: dir)
        try Self.plant(dir.file("to-victim"), to: victim)
        let missing = dir.file("would-be-created")
        try Self.plant(dir.file("dangling"), to: missing)
        for name in ["to-victim", "dangling", "victim.txt"] {
            let fd = ExclusiveFile.openNew(dir.file(name), mode: 0o600)
            let code = errno
            if fd >= 0 { close(fd) }
            #expect(fd < 0 && code == EEXIST, "\(name): fd \(fd), errno \(code)")
        }
        #expect(try Self.text(victim) == Self.victimText)
        #expect(!FileManager.default.fileExists(atPath: missing), "O_CREAT followed the dangling link")
        // Names are random: two files with one prefix differ, and both get the asked mode.
        let first = try ExclusiveFile.create(prefix: dir.file("f-"), mode: 0o644)
        let second = try ExclusiveFile.create(prefix: dir.file("f-"), mode: 0o644)
        close(first.fd)
        close(second.fd)
        #expect(first.path != second.path)
        #expect(try FileManager.default.attributesOfItem(atPath: first.path)[.posixPermissions] as? Int == 0o644)
    }
}
