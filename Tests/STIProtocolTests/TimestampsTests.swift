import Foundation
import Testing

@testable import STIProtocol

@Suite struct TimestampsTests {
    @Test(arguments: [
        ("2026-01-15T09:30:00+08:00", Int64(1_768_440_600_000)),
        ("2026-01-15T01:30:00Z", 1_768_440_600_000),
        ("2026-01-15t01:30:00z", 1_768_440_600_000),
        ("2026-01-15T01:30:00-00:00", 1_768_440_600_000),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999Z", -1),
        ("2000-02-29T12:00:00-05:30", 951_845_400_000),
        ("2016-12-31T23:59:59Z", 1_483_228_799_000),
        ("2016-12-31T23:59:60Z", 1_483_228_800_000),
        ("2026-01-15T09:30:00.5+08:00", 1_768_440_600_500),
        ("2026-01-15T09:30:00.123999+08:00", 1_768_440_600_123),
        ("0000-01-01T00:00:00Z", -62_167_219_200_000),
        ("9999-12-31T23:59:59Z", 253_402_300_799_000),
    ])
    func parsesInstants(_ text: String, millis: Int64) throws {
        let stamp = try #require(RFC3339Timestamp.parse(text), "\(text)")
        #expect(stamp.epochMillis == millis)
    }

    @Test func subMillisecondFractionsRound() throws {
        let exact = try #require(RFC3339Timestamp.parse("2026-01-15T09:30:00.123000+08:00"))
        #expect(!exact.hasSubMillisecondPart && exact.epochMillisRoundedUp == exact.epochMillis)
        let finer = try #require(RFC3339Timestamp.parse("2026-01-15T09:30:00.1230001+08:00"))
        #expect(finer.hasSubMillisecondPart && finer.epochMillisRoundedUp == finer.epochMillis + 1)
    }

    @Test func keepsComponents() throws {
        let stamp = try #require(RFC3339Timestamp.parse("2024-02-29T23:05:07-03:30"))
        #expect(stamp.date == CalendarDate(year: 2024, month: 2, day: 29))
        #expect((stamp.hour, stamp.minute, stamp.second, stamp.offsetMinutes) == (23, 5, 7, -210))
    }

    @Test(arguments: [
        "", "2026-01-15", "2026-01-15T09:30:00", "2026-01-15T09:30+08:00", "2026-01-15 09:30:00+08:00",
        "2026-01-15X09:30:00Z", "2026-1-15T09:30:00Z", "26-01-15T09:30:00Z", "+2026-01-15T09:30:00Z",
        "2026-01-15T9:30:00Z", "2026-01-15T09:30:00.Z", "2026-01-15T09:30:00,5Z", "2026-01-15T09:30:00ZZ",
        "2026-01-15T09:30:00+08", "2026-01-15T09:30:00+08:0", "2026-01-15T09:30:00+0800", "2026-01-15T09:30:00 +08:00",
        "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-32T00:00:00Z", "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-15T24:00:00Z", "2026-01-15T23:60:00Z",
        "2026-01-15T23:59:61Z", "2026-01-15T09:30:00+24:00", "2026-01-15T09:30:00+08:60",
        "2026-01-15T09:30:60Z", "2016-12-31T23:58:60Z", "2016-12-30T23:59:60Z", "2016-12-31T23:59:60+08:00",
        "2026-01-15T09:30:00Z\n", "２０２６-01-15T09:30:00Z", "2026-01-15T09:30:00.12a+08:00",
    ])
    func rejects(_ text: String) {
        #expect(RFC3339Timestamp.parse(text) == nil, "\(text)")
    }

    @Test func leapSecondsOnlyAtAMonthEndInUTC() {
        #expect(RFC3339Timestamp.parse("2015-06-30T23:59:60Z") != nil)
        #expect(RFC3339Timestamp.parse("2015-07-01T07:59:60+08:00") != nil)
        #expect(RFC3339Timestamp.parse("2015-06-30T18:29:60-05:30") != nil)
        #expect(RFC3339Timestamp.parse("2015-06-30T23:59:60+08:00") == nil)
    }

    @Test(arguments: [
        ("2000-02-29", true), ("1900-02-28", true), ("1900-02-29", false), ("2024-02-29", true),
        ("2023-02-29", false), ("2026-12-31", true), ("2026-11-31", false), ("2026-06-30", true),
        ("2026-06-31", false), ("2026-01-00", false), ("2026-00-10", false), ("2026-1-10", false),
        ("2026-01-10 ", false), ("2026/01/10", false), ("20260110", false), ("2026-01-1a", false),
    ])
    func calendarDates(_ text: String, valid: Bool) {
        #expect((CalendarDate.parse(text) != nil) == valid, "\(text)")
    }

    @Test func civilArithmeticMatchesFoundation() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var day = Civil.daysFromCivil(year: 1999, month: 1, day: 1)
        var date = try #require(calendar.date(from: DateComponents(year: 1999, month: 1, day: 1)))
        #expect(Int64(date.timeIntervalSince1970) == day * 86_400)
        for _ in 0..<(366 * 40) {
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let civil = Civil.civilFromDays(day)
            #expect(civil == CalendarDate(year: parts.year!, month: parts.month!, day: parts.day!))
            #expect(Civil.daysFromCivil(year: civil.year, month: civil.month, day: civil.day) == day)
            if civil != CalendarDate(year: parts.year!, month: parts.month!, day: parts.day!) { break }
            day += 1
            date = date.addingTimeInterval(86_400)
        }
    }

    @Test func todayInUTCPlus8() {
        // 2025-12-31T16:00:00Z is midnight in Kunming.
        #expect(
            CalendarDate.inUTCPlus8(Date(timeIntervalSince1970: 1_767_196_800))
                == CalendarDate(year: 2026, month: 1, day: 1))
        #expect(
            CalendarDate.inUTCPlus8(Date(timeIntervalSince1970: 1_767_196_799))
                == CalendarDate(year: 2025, month: 12, day: 31))
        #expect(CalendarDate.inUTCPlus8(Date(timeIntervalSince1970: -1)) == CalendarDate(year: 1970, month: 1, day: 1))
    }

    @Test func formatsUTC() {
        #expect(RFC3339Timestamp.formatUTC(epochMillis: 1_768_440_600_123) == "2026-01-15T01:30:00.123Z")
        #expect(RFC3339Timestamp.formatUTC(epochMillis: -1) == "1969-12-31T23:59:59.999Z")
        #expect(RFC3339Timestamp.formatUTC(epochMillis: 0) == "1970-01-01T00:00:00.000Z")
    }
}
