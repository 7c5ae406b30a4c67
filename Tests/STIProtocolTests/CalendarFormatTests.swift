import STIProtocol
import Testing

@Suite struct CalendarFormatTests {
    @Test(arguments: [
        (Int64(0), 0, "1970-01-01T00:00:00Z"),
        (Int64(0), 480, "1970-01-01T08:00:00+08:00"),
        (Int64(1_768_440_600), 480, "2026-01-15T09:30:00+08:00"),
        (Int64(951_782_400), 0, "2000-02-29T00:00:00Z"),
        (Int64(-1), 0, "1969-12-31T23:59:59Z"),
        (Int64(1_768_440_600), -330, "2026-01-14T20:00:00-05:30"),
    ])
    func formatsAtOffset(seconds: Int64, offset: Int, expected: String) {
        #expect(RFC3339Timestamp.format(epochSeconds: seconds, offsetMinutes: offset) == expected)
        #expect(RFC3339Timestamp.parse(expected)?.epochMillis == seconds * 1000)
    }

    @Test func millisecondsInUTC() {
        #expect(RFC3339Timestamp.formatUTC(epochMillis: 1_768_440_600_123) == "2026-01-15T01:30:00.123Z")
        #expect(RFC3339Timestamp.formatUTC(epochMillis: -1) == "1969-12-31T23:59:59.999Z")
    }

    @Test(arguments: [
        CalendarDate(year: 1970, month: 1, day: 1), CalendarDate(year: 2000, month: 2, day: 29),
        CalendarDate(year: 1900, month: 3, day: 1), CalendarDate(year: 2025, month: 12, day: 31),
    ])
    func dayNumbersRoundTrip(_ date: CalendarDate) {
        #expect(CalendarDate(daysSinceEpoch: date.daysSinceEpoch) == date)
    }

    @Test func dayNumbersAreConsecutive() {
        #expect(
            CalendarDate(year: 2024, month: 3, day: 1).daysSinceEpoch
                - CalendarDate(year: 2024, month: 2, day: 28).daysSinceEpoch == 2)
        #expect(CalendarDate(year: 1970, month: 1, day: 1).daysSinceEpoch == 0)
    }

    /// Dates are written zero-padded, as bytes and as text alike.
    @Test func datesAreZeroPadded() {
        let cases: [(CalendarDate, String)] = [
            (CalendarDate(year: 2026, month: 1, day: 9), "2026-01-09"),
            (CalendarDate(year: 5, month: 12, day: 31), "0005-12-31"),
            (CalendarDate(year: 12_345, month: 10, day: 10), "12345-10-10"),
            (CalendarDate(year: -5, month: 1, day: 1), "00-5-01-01"),
        ]
        for (date, text) in cases {
            var bytes: [UInt8] = []
            date.appendText(to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == text)
            #expect(date.description == text)
        }
    }
}
