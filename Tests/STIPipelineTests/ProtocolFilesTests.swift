import Foundation
import STIPipeline
import STIProtocol
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Reading the keys and registry files and judging the keys file's permissions: the file side
/// of `KeyRing` and `Registry`, in STIPipeline (`Files/`) since STIProtocol does no I/O.
/// Moved from STIProtocolTests' KeyRingTests and RegistryTests, assertions unchanged, plus the
/// error codes.
@Suite struct ProtocolFilesTests {
    static let keysFile =
        #"{"keys":[{"id":"k1","county":"530102","secret_hex":"\#(String(repeating: "ab", count: 32))"}]}"#

    @Test func loadReportsUnreadableFiles() throws {
        let missing = #expect(throws: KeyRingError.self) {
            try KeyRing.load(contentsOf: URL(fileURLWithPath: "/nonexistent/keys.json"))
        }
        #expect(missing?.code == .unreadable)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keyring-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("keys.json")
        try Data(Self.keysFile.utf8).write(to: url)
        #expect(try KeyRing.load(contentsOf: url).keys.count == 1)
        try Data("{".utf8).write(to: url)
        let syntax = #expect(throws: KeyRingError.self) { try KeyRing.load(contentsOf: url) }
        #expect(syntax?.code == .syntax)
    }

    @Test func warnsAboutReadableKeysFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keyring-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("keys.json").path
        try Data(Self.keysFile.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let warning = try #require(KeyRing.permissionWarning(forFileAt: path))
        #expect(warning.contains("mode 0644") && warning.contains("chmod 600"))
        #expect(!warning.hasPrefix("warning"), "callers add their own prefix: \(warning)")
        try FileManager.default.setAttributes([.posixPermissions: 0o660], ofItemAtPath: path)
        #expect(KeyRing.permissionWarning(forFileAt: path) != nil, "group may write")
        try FileManager.default.setAttributes([.posixPermissions: 0o604], ofItemAtPath: path)
        #expect(KeyRing.permissionWarning(forFileAt: path) != nil, "others may read")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(KeyRing.permissionWarning(forFileAt: path) == nil)
        // Group read: fine for this process's own group (root:sti 0640 read by user sti), not
        // for another group.
        #expect(chown(path, getuid(), getegid()) == 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        #expect(KeyRing.permissionWarning(forFileAt: path) == nil, "own group")
        if getuid() == 0 {
            let other: gid_t = getegid() == 65534 ? 65533 : 65534
            #expect(chown(path, 0, other) == 0)
            #expect(KeyRing.permissionWarning(forFileAt: path)?.contains("mode 0640") == true, "another group")
        }
        #expect(KeyRing.permissionWarning(forFileAt: dir.appendingPathComponent("missing").path) == nil)
    }

    @Test func aDirectoryIsNamedAsOne() throws {
        let dir = NSTemporaryDirectory() + "sti-registry-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = #expect(throws: RegistryError.self) { try Registry.load(contentsOf: URL(fileURLWithPath: dir)) }
        #expect(
            error?.description == "cannot read registry file \(dir): it is a directory", "\(error?.description ?? "")")
        #expect(error?.code == .unreadable)
        // The keys file too (both said `NSCocoaErrorDomain error 256`).
        let keys = #expect(throws: KeyRingError.self) { try KeyRing.load(contentsOf: URL(fileURLWithPath: dir)) }
        #expect(keys?.description == "cannot read keys file \(dir): it is a directory", "\(keys?.description ?? "")")
        #expect(keys?.code == .unreadable)
    }
}
