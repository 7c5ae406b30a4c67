import NIOCore
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP endpoint for Prometheus in `--follow` mode: `GET /metrics` answers the text
/// exposition format, anything else 404. A swift-service-lifecycle `Service`, run in the same
/// `ServiceGroup` as the `AggregatorService`: a graceful shutdown stops both.
///
/// Built on SwiftNIO's NIOHTTP1 because the endpoint faces clients nobody vouches for
/// (hostile review #2, #9), and it must take them as they come:
/// - a reset or half-open peer costs an error on that connection only: NIO writes with
///   SIGPIPE ignored (and `sti` ignores SIGPIPE process-wide at startup as well);
/// - connections are served concurrently on NIO's event loops, up to `Limits.maxConnections`;
/// - every connection has an absolute deadline from accept (`Limits.connectionDeadline`): a
///   client trickling a byte a second is closed then, whatever it sent, and never holds up
///   anyone else meanwhile;
/// - the request head is bounded by NIO's decoder limits (`Limits.maxRequestHeadBytes`), a body
///   by `Limits.maxRequestBodyBytes`; one request per connection, then the server closes it.
///
/// Why NIO and not the others in the package mirror: swhitty/FlyingFox 0.27.1 (read at its
/// tag) writes with MSG_NOSIGNAL and serves connections concurrently, but has no deadline for
/// reading a request (its `timeout` covers only the handler), keeps idle keep-alive
/// connections forever, and reads header lines without a size bound: a slow or endless client
/// ties up a task and memory for good. Hummingbird 2.28.1 is built on this same NIO and adds
/// swift-nio-extras, swift-http-types, async-algorithms and tracing on top, for routing this
/// endpoint does not need (and it has idle timeouts, not an absolute one). The cost, measured
/// on this 2-core machine while shared (load 2 to 7): NIOCore, NIOPosix, NIOHTTP1 and
/// swift-atomics took 46 s (43 s CPU) added to a built tree; a clean `swift build` took 186 s
/// (221 s CPU) against 184 s (145 s CPU) before, so about a minute more per CI run.
public final class MetricsServer: Service, Sendable {
    /// The host a bare `--metrics-port PORT` binds: loopback, so that nothing outside the
    /// machine (or pod) can reach the endpoint unless the operator says so with `HOST:PORT`.
    public static let defaultHost = "127.0.0.1"

    public struct Limits: Sendable {
        /// How long a connection may stay open, counted from accept: the request must have
        /// arrived and been answered by then, or the server closes the connection.
        public var connectionDeadline: Duration
        /// Connections open at once; one accepted beyond this is closed straight away.
        public var maxConnections: Int
        /// Request line and headers together, in bytes (a longer head gets a 400).
        public var maxRequestHeadBytes: Int
        /// A request body (a GET has none), in bytes; beyond this the connection is closed.
        public var maxRequestBodyBytes: Int

        public init(
            connectionDeadline: Duration = .seconds(5), maxConnections: Int = 512,
            maxRequestHeadBytes: Int = 16_384, maxRequestBodyBytes: Int = 16_384
        ) {
            self.connectionDeadline = connectionDeadline
            self.maxConnections = maxConnections
            self.maxRequestHeadBytes = maxRequestHeadBytes
            self.maxRequestBodyBytes = maxRequestBodyBytes
        }
    }

    /// The address listened on; `port` is the real one when 0 was asked for.
    public let host: String
    public let port: Int
    private let channel: any Channel
    private let stopping = StopFlag()

    /// `--metrics-port`'s value: `PORT` (bound on `defaultHost`) or `HOST:PORT` with an IPv4
    /// address, PORT 0…65535 (0 picks a free port).
    public static func parseAddress(_ address: String) throws(MetricsError) -> (host: String, port: Int) {
        let rule = "--metrics-port must be PORT or HOST:PORT, with HOST an IPv4 address and PORT 0 to 65535"
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let portText = parts.last, let port = UInt16(portText) else {
            throw MetricsError(.badAddress, "\(rule), got \(address)")
        }
        let host = parts.count == 2 ? String(parts[0]) : defaultHost
        var parsed = in_addr()
        guard inet_pton(AF_INET, host, &parsed) == 1 else {
            throw MetricsError(.badAddress, "\(rule): \(host) is not an IPv4 address (got \(address))")
        }
        return (host, Int(port))
    }

    /// Binds and listens on `address` (see `parseAddress`); serving starts at once, on NIO's
    /// shared event loops. `render` makes the body of each `GET /metrics`, on an event loop
    /// thread, so it must be quick and must not block.
    public static func start(
        address: String, limits: Limits = Limits(),
        render: @escaping @Sendable () -> String
    ) async throws -> MetricsServer {
        let (host, port) = try parseAddress(address)
        let open = OpenConnections(limit: limits.maxConnections)
        let deadline = TimeAmount.nanoseconds(
            Int64(limits.connectionDeadline.components.seconds) * 1_000_000_000
                + limits.connectionDeadline.components.attoseconds / 1_000_000_000)
        let decoderLimits = {
            var decoder = NIOHTTPDecoderLimitConfiguration()
            decoder.maxHeaderListSize = limits.maxRequestHeadBytes
            decoder.maxHeaderFieldSize = limits.maxRequestHeadBytes
            return decoder
        }()
        let maxBody = limits.maxRequestBodyBytes
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                // Refused: NIO's accept handler closes the connection.
                guard open.admit(channel) else { return channel.eventLoop.makeFailedFuture(ConnectionRefused()) }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(ConnectionDeadline(deadline))
                    try pipeline.configureHTTPServerPipeline(
                        withPipeliningAssistance: false, withErrorHandling: true,
                        withEncoderConfiguration: .init(), withDecoderLimitConfiguration: decoderLimits)
                    try pipeline.addHandler(MetricsRequestHandler(render: render, maxBodyBytes: maxBody))
                }
            }
        let channel: any Channel
        do { channel = try await bootstrap.bind(host: host, port: port).get() } catch {
            throw MetricsError(.cannotListen, "--metrics-port \(address): cannot listen on \(host):\(port): \(error)")
        }
        return MetricsServer(host: host, port: channel.localAddress?.port ?? port, channel: channel)
    }

    private init(host: String, port: Int, channel: any Channel) {
        self.host = host
        self.port = port
        self.channel = channel
    }

    /// Serves until a graceful shutdown or cancellation, then stops listening. Connections
    /// still open end by their deadline.
    public func run() async throws {
        let (channel, stopping) = (self.channel, self.stopping)
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            stopping.set()
            channel.close(promise: nil)
        }
        guard stopping.isSet else {
            throw MetricsError(.stopped, "the metrics endpoint on \(host):\(port) stopped unexpectedly")
        }
    }

    /// Whether the endpoint still listens (its listening socket is open).
    public var isListening: Bool { channel.isActive }

    /// Stops listening (for callers that do not `run` it in a service group).
    public func stop() async {
        stopping.set()
        try? await channel.close()
    }
}

/// Set once the server was asked to stop: a listener closed otherwise is a failure.
private final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

private struct ConnectionRefused: Error {}

/// Counts the connections open; refuses one beyond the limit.
private final class OpenConnections: Sendable {
    private let count = Atomic<Int>(0)
    private let limit: Int
    init(limit: Int) { self.limit = limit }

    func admit(_ channel: any Channel) -> Bool {
        guard count.add(1, ordering: .relaxed).newValue <= limit else {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        channel.closeFuture.whenComplete { [self] _ in count.subtract(1, ordering: .relaxed) }
        return true
    }
}

/// Closes the connection when `deadline` has passed since it was accepted, whatever state the
/// request or response is in (an idle timeout would let a client that trickles bytes reset it
/// for ever).
private final class ConnectionDeadline: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    private let deadline: TimeAmount
    private var timer: Scheduled<Void>?

    init(_ deadline: TimeAmount) { self.deadline = deadline }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
    }
}

/// One request per connection: `GET /metrics` gets the exposition, anything else 404; then
/// the connection is closed.
private final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let render: @Sendable () -> String
    private let maxBodyBytes: Int
    private var wantsMetrics = false
    private var bodyBytes = 0
    private var done = false

    init(render: @escaping @Sendable () -> String, maxBodyBytes: Int) {
        self.render = render
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            wantsMetrics = head.method == .GET && head.uri == "/metrics"
        case .body(let chunk):
            bodyBytes += chunk.readableBytes
            if bodyBytes > maxBodyBytes {
                done = true
                context.close(promise: nil)
            }
        case .end:
            done = true
            respond(context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset, a refused write, a bad request: that connection ends, nothing else does.
        context.close(promise: nil)
    }

    private func respond(_ context: ChannelHandlerContext) {
        let body = wantsMetrics ? render() : ""
        var headers = HTTPHeaders()
        if wantsMetrics { headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8") }
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: wantsMetrics ? .ok : .notFound, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
