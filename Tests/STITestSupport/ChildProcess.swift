import Foundation
import Kafka
import Synchronization

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
/// never block on a full pipe. Blocking: call from a dedicated thread (`onDedicatedThread`)
/// when the wait may be long.
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

/// A child process started by `ChildProcess.start`.
///
/// Spawned with `posix_spawn` rather than Foundation's `Process`: the test runner's threads block
/// most signals, `Process` passes that mask on, and a child that cannot receive SIGTERM cannot
/// be stopped gracefully (Tansu ignored it). Here every child starts with an empty signal mask
/// and default signal handlers.
public final class RunningProcess: @unchecked Sendable {
    public let executable: String
    public let arguments: [String]
    public let pid: Int32
    private let scratch: TemporaryDirectory
    private let exit = Mutex<Int32?>(nil)

    init(executable: String, arguments: [String], environment: [String: String], stdin: [UInt8]?) throws {
        self.executable = try ChildProcess.resolve(executable)
        self.arguments = arguments
        scratch = try TemporaryDirectory(prefix: "child")
        var stdinPath = "/dev/null"
        if let stdin {
            stdinPath = scratch.path + "/stdin"
            guard FileManager.default.createFile(atPath: stdinPath, contents: Data(stdin)) else {
                throw TestEnvironmentError("cannot write \(stdinPath)")
            }
        }
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in Int32(1)..<32 where signal != SIGKILL && signal != SIGSTOP { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, scratch.path + "/stdout", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, scratch.path + "/stderr", O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        let argv = ([self.executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, self.executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw TestEnvironmentError("cannot start \(self.executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    deinit {
        if isRunning {
            kill(SIGKILL)
            _ = wait(timeout: .seconds(10))
        }
    }

    /// Whether the process has not ended yet (reaps it once it has).
    public var isRunning: Bool {
        exit.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            let result = waitpid(pid, &raw, WNOHANG)
            if result == pid {
                status = raw
                return false
            }
            return result == 0
        }
    }

    /// Sends a signal (e.g. `SIGKILL`, `SIGTERM`) if the process is still running.
    public func kill(_ signal: Int32) {
        if isRunning { _ = posixKill(pid, signal) }
    }

    /// Waits up to `timeout` for the process to end, then SIGKILLs it. Returns its result.
    @discardableResult
    public func wait(timeout: Duration) -> ProcessResult {
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                _ = posixKill(pid, SIGKILL)
                var raw: Int32 = 0
                while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
                exit.withLock { $0 = raw }
                break
            }
            usleep(2_000)
        }
        let raw = exit.withLock { $0 } ?? 0
        let signal = raw & 0x7f
        let status = signal == 0 ? (raw >> 8) & 0xff : -signal
        return ProcessResult(status: status, stdout: readFile("stdout"), stderr: readFile("stderr"), timedOut: timedOut)
    }

    /// What the process wrote to stdout so far.
    public var stdoutSoFar: [UInt8] { readFile("stdout") }
    /// What the process wrote to stderr so far.
    public var stderrSoFar: [UInt8] { readFile("stderr") }

    private func readFile(_ name: String) -> [UInt8] {
        (try? Data(contentsOf: URL(fileURLWithPath: scratch.path + "/" + name))).map { Array($0) } ?? []
    }
}

/// The C `kill`, out of reach of `RunningProcess.kill`'s name.
private func posixKill(_ pid: pid_t, _ signal: Int32) -> Int32 { kill(pid, signal) }
