// A JSON tree for small configuration files (the keys file), parsed with the same strict
// rules as messages: well-formed UTF-8, one object at the top, no duplicate keys, no lone
// surrogates. Not for the message hot path, which never builds a tree.

/// A parsed JSON value. Numbers keep their literal text so nothing is lost to floating point.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number's literal text, e.g. `100.50`.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order (keys are unique).
    case object([JSONMember])

    /// Parses bytes that must be exactly one strict JSON object.
    public static func parseObject(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 8) throws(JSONSyntaxError)
        -> JSONValue
    {
        if let bad = UTF8Validation.firstInvalidOffset(bytes) {
            throw JSONSyntaxError(offset: bad, reason: "not valid UTF-8")
        }
        var scanner = JSONScanner(bytes, maxDepth: maxDepth)
        return try scanner.parseTopLevelTree()
    }

    /// The member `key` of an object; nil for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// How an error message names the value's type.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// One member of a JSON object.
public struct JSONMember: Sendable, Hashable {
    public var key: String
    public var value: JSONValue
    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

extension JSONScanner {
    mutating func parseTopLevelTree() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        guard i < n else { throw fail(i, "expected a JSON object, found an empty value") }
        if isByteOrderMark(at: i) { throw fail(i, "a byte-order mark is not allowed before the object") }
        guard p[i] == UInt8(ascii: "{") else {
            throw fail(i, "the value must be one JSON object, found \(describe(i))")
        }
        let tree = try parseTree(depth: 0)
        skipWhitespace()
        guard i == n else { throw fail(i, "only whitespace may follow the object, found \(describe(i))") }
        return tree
    }

    /// Parses the value at the cursor; `depth` counts the containers around it.
    private mutating func parseTree(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        guard i < n else { throw fail(i, "expected a value, found the end of the value") }
        let open = p[i]
        guard open == UInt8(ascii: "{") || open == UInt8(ascii: "[") else {
            let s = try scanValue(depth: depth)
            switch s.kind {
            case .null: return .null
            case .trueValue: return .bool(true)
            case .falseValue: return .bool(false)
            case .number: return .number(String(decoding: bytes(s), as: UTF8.self))
            default: return .string(string(s))
            }
        }
        guard depth < maxDepth else { throw fail(i, "nesting deeper than \(maxDepth) levels") }
        advance()
        skipWhitespace()
        if open == UInt8(ascii: "[") {
            var elements: [JSONValue] = []
            if i < n, p[i] == UInt8(ascii: "]") {
                advance()
                return .array(elements)
            }
            while true {
                elements.append(try parseTree(depth: depth + 1))
                if try endOfMember(closing: UInt8(ascii: "]")) { return .array(elements) }
            }
        }
        var members: [JSONMember] = []
        if i < n, p[i] == UInt8(ascii: "}") {
            advance()
            return .object(members)
        }
        let frame = keys.count
        while true {
            let key = try scanKey()
            keys.append(KeyEntry(hash: hashKey(key), span: key))
            members.append(JSONMember(key: string(key), value: try parseTree(depth: depth + 1)))
            if try endOfMember(closing: UInt8(ascii: "}")) { break }
        }
        try checkDuplicates(from: frame)
        keys.removeSubrange(frame...)
        return .object(members)
    }
}
