import Foundation
import Testing

@testable import STIProtocol

/// Section 3: "today" and "the current year" are those of the message's Kafka timestamp in
/// UTC+8, never the validating machine's clock; offline checks use the clock.
@Suite struct MessageTodayTests {
    /// 2025-12-31T23:59:59.999+08:00 and 2026-01-01T00:00:00+08:00, the last and first
    /// millisecond of the two years in UTC+8.
    static let lastOf2025: Int64 = 1_767_196_799_999
    static let firstOf2026: Int64 = 1_767_196_800_000
    /// 2025-12-31T23:59:00+08:00.
    static let minuteBefore2026: Int64 = firstOf2026 - 60_000

    /// Validators whose clocks are far from the message timestamps: neither may decide.
    static let clocks: [(String, MessageValidator)] = [
        (
            "clock in 2040",
            MessageValidator(registry: .kunming, keyRing: nil, today: { CalendarDate(year: 2040, month: 6, day: 1) })
        ),
        (
            "clock in 2001",
            MessageValidator(registry: .kunming, keyRing: nil, today: { CalendarDate(year: 2001, month: 1, day: 1) })
        ),
        ("wall clock", MessageValidator(registry: .kunming, keyRing: nil)),
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var message: SampleMessage
        var millis: Int64
        var expected: [ExpectedError]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "year 2026 stamped 2025-12-31T23:59 UTC+8", message: .rd.with("year", "2026"),
            millis: minuteBefore2026,
            expected: [ExpectedError(.period, "year")]),
        Case(
            name: "year 2026 stamped 2025-12-31T23:59:59.999 UTC+8", message: .rd.with("year", "2026"),
            millis: lastOf2025,
            expected: [ExpectedError(.period, "year")]),
        Case(
            name: "year 2026 stamped 2026-01-01T00:00 UTC+8", message: .rd.with("year", "2026"), millis: firstOf2026,
            expected: []),
        Case(
            name: "year 2025 stamped 2025-12-31T23:59 UTC+8", message: .rd.with("year", "2025"),
            millis: minuteBefore2026, expected: []),
        Case(
            name: "profile year 2026 stamped 2025-12-31T23:59 UTC+8", message: .profile.with("year", "2026"),
            millis: minuteBefore2026,
            expected: [ExpectedError(.period, "year")]),
        Case(
            name: "profile year 2026 stamped 2026-01-01T00:00 UTC+8", message: .profile.with("year", "2026"),
            millis: firstOf2026, expected: []),
        Case(
            name: "registered 2026-01-01 stamped 2025-12-31T23:59 UTC+8",
            message: .contract.with("registered_on", "\"2026-01-01\""), millis: minuteBefore2026,
            expected: [ExpectedError(.period, "registered_on")]),
        Case(
            name: "registered 2026-01-01 stamped 2026-01-01T00:00 UTC+8",
            message: .contract.with("registered_on", "\"2026-01-01\""), millis: firstOf2026, expected: []),
        Case(
            name: "registered 2025-12-31 stamped 2025-12-31T23:59 UTC+8",
            message: .contract.with("registered_on", "\"2025-12-31\""), millis: minuteBefore2026, expected: []),
        // 2026-01-15T09:30+08:00 is 01:30 UTC: the UTC date and the UTC+8 date agree, but at
        // 2026-01-15T20:00Z it is already the 16th in UTC+8.
        Case(
            name: "registered the next UTC+8 day, stamped 20:00 UTC the day before",
            message: .contract.with("registered_on", "\"2026-01-16\""), millis: 1_768_507_200_000, expected: []),
        Case(
            name: "registered the next UTC+8 day, stamped 15:59:59 UTC the day before",
            message: .contract.with("registered_on", "\"2026-01-16\""), millis: 1_768_507_200_000 - 4 * 3_600_000 - 1,
            expected: [ExpectedError(.period, "registered_on")]),
    ]

    @Test(arguments: cases)
    func theMessageTimestampDecides(_ c: Case) {
        for source in [TimestampSource.broker, .producer] {
            for (clock, validator) in Self.clocks {
                let result = ValidatorCheck.run(
                    c.message.bytes, topic: ValidatorCheck.kind(of: c.message), timestampMillis: c.millis,
                    timestampSource: source, validator: validator)
                #expect(ValidatorCheck.codes(result) == c.expected, "\(c.name), \(source), \(clock): \(result)")
            }
        }
    }

    @Test func theErrorNamesTheMessageTimestampsDate() throws {
        let year = try #require(
            ValidatorCheck.run(SampleMessage.rd.with("year", "2026").bytes, timestampMillis: Self.minuteBefore2026)
                .rejection)
        #expect(
            year.errors == [
                FieldError(
                    .period, field: "year",
                    "must be between 2000 and 2025, the year of the message's Kafka timestamp in UTC+8, not 2026")
            ])
        let date = try #require(
            ValidatorCheck.run(
                SampleMessage.contract.with("registered_on", "\"2026-01-01\"").bytes, topic: .techContract,
                timestampMillis: Self.minuteBefore2026
            ).rejection)
        #expect(
            date.errors == [
                FieldError(
                    .period, field: "registered_on",
                    "must not be after 2025-12-31, the day of the message's Kafka timestamp in UTC+8, not 2026-01-01")
            ])
    }

    /// A rebuild years later (the validator's clock far in the future) judges every message as
    /// the run that consumed it did: the same records and the same errors, byte for byte.
    @Test func aRebuildYearsLaterJudgesTheSame() {
        let thenClock = MessageValidator(
            registry: .kunming, keyRing: nil, today: { CalendarDate(year: 2026, month: 1, day: 1) })
        let rebuildClock = MessageValidator(
            registry: .kunming, keyRing: nil, now: { Date(timeIntervalSince1970: 4_102_444_800) })  // 2100
        let messages: [(SampleMessage, Int64)] = [
            (.rd.with("year", "2026"), Self.minuteBefore2026),
            (.rd.with("year", "2026"), Self.firstOf2026),
            (.rd.with("year", "2027"), Self.firstOf2026),
            (.contract.with("registered_on", "\"2026-01-01\""), Self.minuteBefore2026),
            (.contract.with("registered_on", "\"2026-01-01\""), Self.firstOf2026),
            (.profile.with("year", "2026"), Self.minuteBefore2026),
        ]
        for (message, millis) in messages {
            let kind = ValidatorCheck.kind(of: message)
            let then = ValidatorCheck.run(
                message.bytes, topic: kind, timestampMillis: millis, timestampSource: .broker, validator: thenClock)
            let later = ValidatorCheck.run(
                message.bytes, topic: kind, timestampMillis: millis, timestampSource: .broker, validator: rebuildClock)
            #expect(then == later, "\(message) at \(millis)")
        }
        // And the clock would have decided otherwise for an offline check.
        let offline = ValidatorCheck.run(
            SampleMessage.rd.with("year", "2027").bytes, timestampMillis: Self.firstOf2026,
            timestampSource: .localClock, validator: rebuildClock)
        #expect(ValidatorCheck.codes(offline) == [])
    }

    @Test func offlineChecksUseTheClockNotTheTimestamp() {
        let clock2025 = MessageValidator(
            registry: .kunming, keyRing: nil, today: { CalendarDate(year: 2025, month: 12, day: 31) })
        // The message timestamp says 2026, the clock 2025-12-31: offline, the clock decides.
        let year = ValidatorCheck.run(
            SampleMessage.rd.with("year", "2026").bytes, timestampMillis: Self.firstOf2026,
            timestampSource: .localClock, validator: clock2025)
        #expect(ValidatorCheck.codes(year) == [ExpectedError(.period, "year")])
        let date = ValidatorCheck.run(
            SampleMessage.contract.with("registered_on", "\"2026-01-01\"").bytes, topic: .techContract,
            timestampMillis: Self.firstOf2026, timestampSource: .localClock, validator: clock2025)
        #expect(ValidatorCheck.codes(date) == [ExpectedError(.period, "registered_on")])
    }

    /// librdkafka reports -1 for a message without a timestamp; then the clock decides.
    @Test func aMessageWithoutATimestampFallsBackToTheClock() {
        let clock2025 = MessageValidator(
            registry: .kunming, keyRing: nil, today: { CalendarDate(year: 2025, month: 12, day: 31) })
        let clock2026 = MessageValidator(
            registry: .kunming, keyRing: nil, today: { CalendarDate(year: 2026, month: 1, day: 1) })
        let message = SampleMessage.rd.with("year", "2026").bytes
        #expect(
            ValidatorCheck.codes(
                ValidatorCheck.run(message, timestampMillis: -1, timestampSource: .producer, validator: clock2025))
                == [ExpectedError(.period, "year")])
        #expect(
            ValidatorCheck.codes(
                ValidatorCheck.run(message, timestampMillis: -1, timestampSource: .producer, validator: clock2026))
                == [])
        // Timestamp 0 is a real one (1970-01-01T08:00 UTC+8): every year is after it.
        #expect(
            ValidatorCheck.codes(
                ValidatorCheck.run(message, timestampMillis: 0, timestampSource: .broker, validator: clock2026))
                == [ExpectedError(.period, "year")])
    }

    @Test(arguments: [
        (Int64(0), CalendarDate(year: 1970, month: 1, day: 1)),
        (lastOf2025, CalendarDate(year: 2025, month: 12, day: 31)),
        (firstOf2026, CalendarDate(year: 2026, month: 1, day: 1)),
        (Int64(-28_800_001), CalendarDate(year: 1969, month: 12, day: 31)),
        (Int64(-28_800_000), CalendarDate(year: 1970, month: 1, day: 1)),
    ])
    func utcPlus8DateOfMillis(_ millis: Int64, _ expected: CalendarDate) {
        #expect(CalendarDate.inUTCPlus8(epochMillis: millis) == expected)
        #expect(
            CalendarDate.inUTCPlus8(epochMillis: millis)
                == CalendarDate.inUTCPlus8(Date(timeIntervalSince1970: Double(Civil.floorDiv(millis, 1000)))))
    }

    @Test func extremeTimestampsDoNotCrash() {
        for millis in [Int64.max, Int64.min, Int64.max - 1] {
            _ = CalendarDate.inUTCPlus8(epochMillis: millis)
            _ = ValidatorCheck.run(SampleMessage.rd.bytes, timestampMillis: millis, timestampSource: .broker)
        }
    }
}
