// A new file that nobody else could have prepared: created with O_CREAT|O_EXCL|O_NOFOLLOW
// under a name with 64 random bits in it. Used where a file is created in a directory that
// someone else might be able to write (the `--out` write probe, the metrics textfile's
// temporary copy): a symlink planted at a predictable name would otherwise make sti truncate
// or overwrite whatever the link points at (hostile review #13).
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public enum ExclusiveFile {
    /// A failed system call: what was being done, on which path, and `errno`.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let action: String
        public let path: String
        public let code: Int32
        public var reason: String { String(cString: strerror(code)) }
        public var description: String { "\(action) \(path): \(reason)" }
    }

    /// Names tried before giving up (each collision is a 1 in 2^64 event, or an attack).
    static let attempts = 16

    /// Creates a new file `<prefix><16 random hex digits>` with `mode` (then set exactly,
    /// whatever the umask), open for writing. Never follows a symlink and never opens a file
    /// that already exists. Returns the open descriptor and the path; the caller closes it.
    public static func create(prefix: String, mode: Int) throws(Failure) -> (fd: Int32, path: String) {
        var lastError: Int32 = EEXIST
        for _ in 0..<attempts {
            let path = prefix + randomSuffix()
            let fd = openNew(path, mode: mode)
            if fd >= 0 {
                guard fchmod(fd, mode_t(mode)) == 0 else {
                    let code = errno
                    close(fd)
                    unlink(path)
                    throw Failure(action: "cannot set the mode of", path: path, code: code)
                }
                return (fd, path)
            }
            lastError = errno
            guard lastError == EEXIST || lastError == ELOOP else { break }
        }
        throw Failure(action: "cannot create a new file", path: prefix + "*", code: lastError)
    }

    /// Writes all of `bytes` to `fd`; on failure says which file.
    public static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(Failure) {
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    failure = n < 0 ? errno : EIO
                    return
                }
                offset += n
            }
        }
        if failure != 0 { throw Failure(action: "cannot write", path: path, code: failure) }
    }

    /// open(2) of a file that must not exist yet: fails (EEXIST) on any existing name, a
    /// symlink included, even a dangling one, which plain O_CREAT would follow and create.
    static func openNew(_ path: String, mode: Int) -> Int32 {
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
    }

    static func randomSuffix() -> String {
        let hex = String(UInt64.random(in: .min ... .max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
