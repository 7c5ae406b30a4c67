// Reading a registry file: the file side of `Registry` (section 1), kept out of STIProtocol,
// which only parses bytes.
public import Foundation
public import STIProtocol

extension Registry {
    /// Loads a registry file: `{"geographies": [{"code": …, "name_zh": …, …}]}`, read as
    /// strictly as a message (see `Registry.parse`).
    public static func load(contentsOf url: URL) throws(RegistryError) -> Registry {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw RegistryError(.unreadable, "cannot read registry file \(url.path): it is a directory")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RegistryError(.unreadable, "cannot read registry file \(url.path): \(error.localizedDescription)")
        }
        return try parse(data, source: "registry file \(url.path)")
    }
}
