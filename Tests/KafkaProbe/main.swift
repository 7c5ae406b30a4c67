// kafka-probe: a tiny Kafka client that tests run as a child process.
//
//   kafka-probe consume --brokers B --topic T --partitions N --out FILE
//                       [--batch 100] [--pause-ms 0] [--until-eof] [--max-seconds 120] [-X key=value]...
//       Reads partitions 0..<N, appending one line per message to FILE:
//       `<partition>\t<offset>\t<key hex or ->\t<value hex>\n`. FILE is also the offset store: on
//       start the probe drops a torn last line (a kill mid-write), resumes each partition after
//       its last complete line, and every batch is written with one write(2) and fsync'd before
//       the next poll. So a SIGKILL at any moment loses nothing and repeats nothing.
//   kafka-probe produce --brokers B --topic T --count N [--partitions P] [--prefix m] [-X key=value]...
//       Sends N messages: key `k-<i>`, value `<prefix>-<i>` (padded with spaces to --value-size
//       bytes if given), partition i % P when P is given. Prints the rate on stderr.
//       Exits 0 only if every message was delivered.
//   kafka-probe count --brokers B --topic T --partitions N [--batch 1000] [-X key=value]...
//       Reads every partition from the beginning to its end without keeping anything and prints
//       count, bytes and rate: a throughput measurement of the Kafka layer.
//   kafka-probe version
//       Prints the loaded librdkafka version.
import Foundation
import Kafka

struct Options {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var properties: [String] = []

    init(_ arguments: ArraySlice<String>) throws {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--until-eof": flags.insert(argument)
            case "-X":
                guard let value = iterator.next() else { throw ProbeError("-X needs key=value") }
                properties.append(value)
            case _ where argument.hasPrefix("--"):
                guard let value = iterator.next() else { throw ProbeError("\(argument) needs a value") }
                values[argument] = value
            default: throw ProbeError("unexpected argument \(argument)")
            }
        }
    }

    func string(_ name: String) throws -> String {
        guard let value = values[name] else { throw ProbeError("missing \(name)") }
        return value
    }

    func int(_ name: String, default fallback: Int? = nil) throws -> Int {
        guard let text = values[name] else {
            if let fallback { return fallback }
            throw ProbeError("missing \(name)")
        }
        guard let value = Int(text) else { throw ProbeError("\(name) must be an integer") }
        return value
    }

    func configuration() throws -> KafkaConfiguration {
        var configuration = KafkaConfiguration(bootstrapServers: try string("--brokers"), clientId: "kafka-probe")
        for property in properties { try configuration.set(property) }
        return configuration
    }
}

struct ProbeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func log(_ text: String) {
    FileHandle.standardError.write(Data(("kafka-probe: " + text + "\n").utf8))
}

let hexDigits = Array("0123456789abcdef".utf8)

func appendHex(_ bytes: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
    for byte in bytes {
        buffer.append(hexDigits[Int(byte >> 4)])
        buffer.append(hexDigits[Int(byte & 0x0f)])
    }
}

/// Opens the output file, drops a torn tail, and returns the next offset per partition.
func recover(path: String) throws -> (fd: Int32, next: [Int32: Int64]) {
    let fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0o644)
    guard fd >= 0 else { throw ProbeError("cannot open \(path): errno \(errno)") }
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let bytes = Array(data)
    let complete = (bytes.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
    if complete < bytes.count {
        log("dropping \(bytes.count - complete) byte(s) of a torn last line")
        guard ftruncate(fd, off_t(complete)) == 0, fsync(fd) == 0 else {
            throw ProbeError("truncate failed: errno \(errno)")
        }
    }
    var next: [Int32: Int64] = [:]
    for line in bytes[..<complete].split(separator: UInt8(ascii: "\n")) {
        let fields = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
        guard fields.count == 4, let partition = Int32(String(decoding: fields[0], as: UTF8.self)),
            let offset = Int64(String(decoding: fields[1], as: UTF8.self))
        else { throw ProbeError("corrupt line in \(path): \(String(decoding: line, as: UTF8.self))") }
        if let previous = next[partition], offset < previous {
            throw ProbeError("offsets go backwards in \(path) for partition \(partition)")
        }
        next[partition] = offset + 1
    }
    return (fd, next)
}

func writeAll(_ fd: Int32, _ buffer: [UInt8]) throws {
    try buffer.withUnsafeBytes { raw in
        var written = 0
        while written < raw.count {
            let result = write(fd, raw.baseAddress! + written, raw.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw ProbeError("write failed: errno \(errno)")
            }
            written += result
        }
    }
    guard fsync(fd) == 0 else { throw ProbeError("fsync failed: errno \(errno)") }
}

func consume(_ options: Options) throws -> Int32 {
    let topic = try options.string("--topic")
    let partitionCount = try options.int("--partitions")
    let batch = try options.int("--batch", default: 100)
    let pause = try options.int("--pause-ms", default: 0)
    let maxSeconds = try options.int("--max-seconds", default: 120)
    let untilEOF = options.flags.contains("--until-eof")
    let (fd, recovered) = try recover(path: try options.string("--out"))
    var next = recovered

    let consumer = try KafkaConsumer(configuration: try options.configuration())
    let partitions = (0..<Int32(partitionCount)).map {
        TopicPartitionOffset(topic: topic, partition: $0, offset: next[$0] ?? KafkaOffset.beginning)
    }
    try consumer.assign(partitions)
    log("resuming at \(partitions.map(\.description).joined(separator: " "))")

    var drained = Set<Int32>()
    var total = 0
    let deadline = ContinuousClock.now + .seconds(maxSeconds)
    var buffer: [UInt8] = []
    buffer.reserveCapacity(batch * 64)
    while true {
        buffer.removeAll(keepingCapacity: true)
        let handled = try consumer.poll(maxMessages: batch, timeout: .milliseconds(200)) { message in
            switch message.kind {
            case .message:
                let partition = message.partition
                buffer.append(contentsOf: "\(partition)\t\(message.offset)\t".utf8)
                if let key = message.key { appendHex(key, to: &buffer) } else { buffer.append(UInt8(ascii: "-")) }
                buffer.append(UInt8(ascii: "\t"))
                appendHex(message.value, to: &buffer)
                buffer.append(UInt8(ascii: "\n"))
                next[partition] = message.offset + 1
                drained.remove(partition)
                total += 1
            case .partitionEOF:
                if message.offset >= next[message.partition] ?? 0 { drained.insert(message.partition) }
            case .error(let error):
                log("consumer error: \(error)")
            }
        }
        if !buffer.isEmpty { try writeAll(fd, buffer) }
        if untilEOF && drained.count == partitionCount { break }
        if ContinuousClock.now >= deadline {
            log("gave up after \(maxSeconds) s with \(drained.count)/\(partitionCount) partitions drained")
            return 3
        }
        if pause > 0 && handled > 0 { usleep(UInt32(pause) * 1000) }
    }
    try consumer.close()
    close(fd)
    print("consumed \(total)")
    return 0
}

func count(_ options: Options) throws -> Int32 {
    let topic = try options.string("--topic")
    let partitionCount = try options.int("--partitions")
    let batch = try options.int("--batch", default: 1000)
    let consumer = try KafkaConsumer(configuration: try options.configuration())
    try consumer.assign((0..<Int32(partitionCount)).map { TopicPartitionOffset.beginning(topic, $0) })
    var drained = Set<Int32>()
    var messages = 0
    var bytes = 0
    var checksum: UInt8 = 0
    var started: ContinuousClock.Instant?
    let deadline = ContinuousClock.now + .seconds(300)
    while drained.count < partitionCount && ContinuousClock.now < deadline {
        try consumer.poll(maxMessages: batch, timeout: .milliseconds(200)) { message in
            switch message.kind {
            case .message:
                if started == nil { started = ContinuousClock.now }
                let value = message.value
                messages += 1
                bytes += value.count + (message.key?.count ?? 0)
                if let last = value.last { checksum &+= last }  // touch the bytes
                drained.remove(message.partition)
            case .partitionEOF: drained.insert(message.partition)
            case .error(let error): log("consumer error: \(error)")
            }
        }
    }
    let seconds = started.map { (ContinuousClock.now - $0) / .seconds(1) } ?? 0
    print(
        "count \(messages) bytes \(bytes) seconds \(seconds) rate \(Int(Double(messages) / max(seconds, 1e-9))) msg/s (checksum \(checksum))"
    )
    try consumer.close()
    return drained.count == partitionCount ? 0 : 3
}

func produce(_ options: Options) throws -> Int32 {
    let topic = try options.string("--topic")
    let count = try options.int("--count")
    let partitions = options.values["--partitions"].flatMap { Int32($0) }
    let prefix = options.values["--prefix"] ?? "m"
    let valueSize = try options.int("--value-size", default: 0)
    let producer = try KafkaProducer(configuration: try options.configuration())
    let started = ContinuousClock.now
    var value: [UInt8] = []
    for index in 0..<count {
        value.removeAll(keepingCapacity: true)
        value.append(contentsOf: "\(prefix)-\(index)".utf8)
        while value.count < valueSize { value.append(UInt8(ascii: " ")) }
        try producer.send(
            topic: topic, key: Array("k-\(index)".utf8), value: value,
            partition: partitions.map { Int32(index) % $0 }, tag: index)
    }
    try producer.flush(timeout: .seconds(120))
    let seconds = (ContinuousClock.now - started) / .seconds(1)
    log("produced \(count) in \(seconds) s: \(Int(Double(count) / max(seconds, 1e-9))) msg/s")
    for failure in producer.takeFailures().prefix(10) { log("\(failure)") }
    print("delivered \(producer.delivered) failed \(producer.failed)")
    return producer.delivered == count && producer.failed == 0 ? 0 : 1
}

let arguments = CommandLine.arguments
do {
    let options = try Options(arguments.dropFirst(2))
    switch arguments.count > 1 ? arguments[1] : "" {
    case "consume": exit(try consume(options))
    case "produce": exit(try produce(options))
    case "count": exit(try count(options))
    case "version": print(librdkafkaVersion())
    default:
        log("usage: kafka-probe consume|produce|version ... (see the comment at the top of main.swift)")
        exit(64)
    }
} catch {
    log("\(error)")
    exit(1)
}
