// Reading a keys file and judging its permissions: the file side of `KeyRing` (section 4),
// kept out of STIProtocol, which only parses bytes.
public import Foundation
public import STIProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension KeyRing {
    /// Reads and checks a keys file `{"keys": [{"id", "county", "secret_hex", "not_before"?, "not_after"?}]}`.
    public static func load(contentsOf url: URL) throws(KeyRingError) -> KeyRing {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw KeyRingError(.unreadable, "cannot read keys file \(url.path): it is a directory")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw KeyRingError(.unreadable, "cannot read keys file \(url.path): \(error.localizedDescription)")
        }
        return try parse(data, source: "keys file \(url.path)")
    }

    /// A warning for the CLI when the keys file at `path` can be read by anyone but the user
    /// that runs sti: any access for others, group write, or group read by a group that is not
    /// this process's own (the server layout `root:sti 0640`, read by the service user `sti`
    /// through its group, is fine). nil when it is fine, or when the file cannot be inspected
    /// (reading it will then report the problem).
    public static func permissionWarning(forFileAt path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let mode = UInt32(st.st_mode) & 0o777
        let exposed = mode & 0o037 != 0 || (mode & 0o040 != 0 && st.st_gid != getegid())
        guard exposed else { return nil }
        let octal = String(mode, radix: 8)
        let shown = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
        return "keys file \(path) is accessible to group or others (mode \(shown)); it holds secrets: chmod 600 \(path)"
            + " (or chmod 640 with the group of the user that runs sti)"
    }
}
