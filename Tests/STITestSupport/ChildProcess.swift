import Foundation

/// What a finished child process left behind.
public struct ProcessResult: Sendable {
    /// Exit status, or the negated signal number when a signal ended it (e.g. -9).
    public let status: Int32
    public let stdout: [UInt8]
    public let stderr: [UInt8]
    /// The process overran its timeout and was killed.
    public let timedOut: Bool

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    public var succeeded: Bool { status == 0 && !timedOut }
}

/// Runs other programs (kcat, tansu, kafka-probe, sti) for tests: arguments, extra environment,
/// stdin bytes, captured output, a timeout. Output goes through files, so a chatty child can
/// never block on a full pipe.
public enum ChildProcess {
    /// Runs to completion (killed with SIGKILL after `timeout`).
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        stdin: [UInt8]? = nil, timeout: Duration = .seconds(60)
    ) throws -> ProcessResult {
        let process = try start(executable, arguments, environment: environment, stdin: stdin)
        return process.wait(timeout: timeout)
    }

    /// Starts in the background; the caller waits for or kills it.
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: [UInt8]? = nil
    ) throws -> RunningProcess {
        try RunningProcess(executable: executable, arguments: arguments, environment: environment, stdin: stdin)
    }

    /// Resolves a bare program name through `PATH`.
    public static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestEnvironmentError("\(executable) not found on PATH")
    }
}

/// A child process started by `ChildProcess.start`. Thread-safe enough for tests: Foundation's
/// `Process` is only touched through its own synchronized accessors.
public final class RunningProcess: @unchecked Sendable {
    public let executable: String
    public let arguments: [String]
    private let process = Process()
    private let scratch: TemporaryDirectory

    init(executable: String, arguments: [String], environment: [String: String], stdin: [UInt8]?) throws {
        self.executable = try ChildProcess.resolve(executable)
        self.arguments = arguments
        scratch = try TemporaryDirectory(prefix: "child")
        let stdoutPath = scratch.path + "/stdout"
        let stderrPath = scratch.path + "/stderr"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: self.executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        if let stdin {
            let stdinPath = scratch.path + "/stdin"
            _ = FileManager.default.createFile(atPath: stdinPath, contents: Data(stdin))
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdinPath))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(SIGKILL)
            process.waitUntilExit()
        }
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Sends a signal (e.g. `SIGKILL`, `SIGTERM`).
    public func kill(_ signal: Int32) {
        if process.isRunning { _ = Foundation.kill(process.processIdentifier, signal) }
    }

    /// Waits up to `timeout` for the process to end, then SIGKILLs it. Returns its result.
    @discardableResult
    public func wait(timeout: Duration) -> ProcessResult {
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                kill(SIGKILL)
                break
            }
            usleep(5_000)
        }
        process.waitUntilExit()
        let status =
            process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
        return ProcessResult(
            status: status, stdout: readFile("stdout"), stderr: readFile("stderr"), timedOut: timedOut)
    }

    /// What the process wrote to stdout so far.
    public var stdoutSoFar: [UInt8] { readFile("stdout") }
    /// What the process wrote to stderr so far.
    public var stderrSoFar: [UInt8] { readFile("stderr") }

    private func readFile(_ name: String) -> [UInt8] {
        (try? Data(contentsOf: URL(fileURLWithPath: scratch.path + "/" + name))).map { Array($0) } ?? []
    }
}
