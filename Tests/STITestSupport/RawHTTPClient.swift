// A deliberately rude HTTP client for the metrics endpoint tests: it can reset a connection
// mid-request (SO_LINGER {1,0}), trickle a request a byte at a time, or just hold a connection
// open. Blocking calls: run them with `onDedicatedThread`, never on the cooperative pool.
// Every receive has a timeout (a guard against hanging, not a measured assertion), and sends
// use MSG_NOSIGNAL, so the test process itself never gets SIGPIPE.
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public final class RawHTTPConnection: Sendable {
    public let fd: Int32

    /// Connects to 127.0.0.1:`port`. `receiveTimeout` bounds every read (a failure guard).
    public init(port: Int, receiveTimeout: Duration = .seconds(20)) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestEnvironmentError("socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: Int(receiveTimeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw TestEnvironmentError("connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
        self.fd = fd
    }

    /// Sends all of `text`; false when the peer has closed or reset the connection.
    @discardableResult
    public func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    /// Reads until the peer closes (or resets, or the receive timeout passes; at most `limit`
    /// bytes). `closed` says whether the peer closed the connection (EOF or reset).
    public func readToEnd(limit: Int = 4 << 20) -> (bytes: [UInt8], closed: Bool) {
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while response.count < limit {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n == 0 { return (response, true) }
            if n < 0 { return (response, errno == ECONNRESET || errno == EPIPE) }
            response.append(contentsOf: buffer[0..<n])
        }
        return (response, false)
    }

    /// Waits up to `timeout` for something from the peer: `.closed` (EOF or reset), `.data`
    /// (bytes arrived, left unread), or `.nothing`.
    public func waitForPeer(timeout: Duration) -> PeerEvent {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ready = poll(&pfd, 1, milliseconds)
        guard ready > 0 else { return .nothing }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n > 0 { return .data }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .nothing }
        return .closed
    }

    public enum PeerEvent: Sendable, Equatable { case closed, data, nothing }

    /// `GET path` with `Connection: close`; the whole response as text.
    public func get(_ path: String) -> String {
        send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return String(decoding: readToEnd().bytes, as: UTF8.self)
    }

    /// Closes with SO_LINGER {1, 0}: the kernel sends a TCP RST instead of a FIN, and anything
    /// the server writes afterwards fails with EPIPE/ECONNRESET.
    public func resetAndClose() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(fd)
    }

    public func close() { Glibc.close(fd) }

    /// Sends a request that never ends, one byte a second (a slowloris client), until the peer
    /// closes the connection or `maxSeconds` bytes have gone. `state` tells other threads how
    /// far it got.
    public func trickle(maxSeconds: Int, state: TrickleState) {
        guard send("GET /metrics HTTP/1.1\r\nX-Slow: ") else {
            state.finish(closedByPeer: true)
            return
        }
        state.started()
        for _ in 0..<maxSeconds {
            switch waitForPeer(timeout: .seconds(1)) {
            case .closed:
                state.finish(closedByPeer: true)
                return
            case .data:
                state.sawResponse()
                state.finish(closedByPeer: readToEnd().closed)
                return
            case .nothing: break
            }
            guard send("a") else {
                state.finish(closedByPeer: true)
                return
            }
            state.sentByte()
        }
        state.finish(closedByPeer: false)
    }
}

/// What a trickling client has seen so far, readable from any thread.
public final class TrickleState: Sendable {
    public struct Snapshot: Sendable {
        public var hasStarted = false
        public var bytesTrickled = 0
        public var sawResponse = false
        /// nil while still trickling; then whether the server closed (or reset) the connection.
        public var closedByPeer: Bool?
    }
    private let state = Mutex(Snapshot())
    public init() {}
    public var now: Snapshot { state.withLock { $0 } }
    func started() { state.withLock { $0.hasStarted = true } }
    func sentByte() { state.withLock { $0.bytesTrickled += 1 } }
    func sawResponse() { state.withLock { $0.sawResponse = true } }
    func finish(closedByPeer: Bool) { state.withLock { $0.closedByPeer = closedByPeer } }
}

/// The signals a process ignores, from `/proc/<pid>/status` (`SigIgn`), or nil when unreadable.
public func ignoredSignals(pid: Int32) -> UInt64? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigIgn:") })
    else { return nil }
    return UInt64(line.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16)
}

/// Whether `signal` is in a `SigIgn` mask.
public func maskHas(_ mask: UInt64, signal: Int32) -> Bool { mask & (UInt64(1) << UInt64(signal - 1)) != 0 }
