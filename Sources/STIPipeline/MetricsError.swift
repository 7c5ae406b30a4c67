/// The metrics endpoint or file could not be set up or written: what went wrong (`code`) and a
/// sentence saying where. (Both threw `AggregateError` before, though a run's failure is
/// another thing: a metrics file not written only warns.)
public struct MetricsError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// `--metrics-port` is not PORT or HOST:PORT on an IPv4 loopback or any address.
        case badAddress
        /// Binding or listening failed.
        case cannotListen
        /// The endpoint stopped while the run went on.
        case stopped
        /// The metrics file could not be written or moved into place.
        case cannotWrite
    }

    public var code: Code
    public var description: String
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
