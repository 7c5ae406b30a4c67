import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP endpoint for Prometheus in `--follow` mode: `GET /metrics` answers the text
/// exposition format, anything else 404. One thread, one connection at a time, requests and
/// bodies bounded. A full HTTP stack (SwiftNIO) would cost minutes of build for one endpoint
/// that Prometheus scrapes a few times a minute.
public final class MetricsServer: Sendable {
    public let port: UInt16
    private let fd: Int32
    private let stopped = Atomic<Bool>(false)

    /// Listens on `address` (`host:port` or `port`; a bare port binds all interfaces, as a
    /// scrape target in a pod must). Port 0 picks a free one (see `port`).
    public init(address: String, render: @escaping @Sendable () -> String) throws {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        let host = parts.count == 2 ? String(parts[0]) : "0.0.0.0"
        guard let portText = parts.last, let requested = UInt16(portText), parts.count <= 2 else {
            throw AggregateError("--metrics-port must be PORT or HOST:PORT, got \(address)")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw AggregateError("metrics socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = requested.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw AggregateError("--metrics-port: \(host) is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw AggregateError("cannot listen on \(host):\(requested) for metrics: \(message)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = UInt16(bigEndian: actual.sin_port)
        let thread = Thread { [self] in self.serve(render: render) }
        thread.start()
    }

    public func stop() {
        if !stopped.exchange(true, ordering: .relaxed) { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    deinit { stop() }

    private func serve(render: @Sendable () -> String) {
        while !stopped.load(ordering: .relaxed) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 200) > 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while request.count < 16_384 {
                let n = read(client, &buffer, buffer.count)
                if n <= 0 { break }
                request.append(contentsOf: buffer[0..<n])
                if request.count >= 4, request.suffix(4).elementsEqual([13, 10, 13, 10]) { break }
            }
            let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
            let response: String
            if line.hasPrefix("GET /metrics ") || line == "GET /metrics" {
                let body = render()
                response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
            } else {
                response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            }
            let bytes = Array(response.utf8)
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(client, raw.baseAddress! + offset, raw.count - offset)
                    if n <= 0 { break }
                    offset += n
                }
            }
            close(client)
        }
    }
}
