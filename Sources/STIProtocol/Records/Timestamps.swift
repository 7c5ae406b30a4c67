// Calendar and RFC 3339 checks written by hand (protocol section 3: years, registration dates,
// `submitted_at`; section 4: key validity windows).
//
// Foundation's date parsers are lenient (they roll 2026-02-30 over into March), locale- and
// allocation-heavy, and far too slow for a validator called about a million times a second.
// These functions read bytes in place and use only integer arithmetic on the proleptic
// Gregorian calendar.
public import Foundation

/// Integer arithmetic on the proleptic Gregorian calendar (days since 1970-01-01).
enum Civil {
    static func isLeapYear(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the given date (H. Hinnant's `days_from_civil`; exact for any year).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `daysFromCivil`.
    static func civilFromDays(_ days: Int64) -> CalendarDate {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return CalendarDate(year: Int(y), month: Int(m), day: Int(d))
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

/// Reads fixed-width ASCII digit groups; nil when any byte is not a digit.
@inline(__always)
private func digits(_ p: UnsafeRawBufferPointer, _ at: Int, _ n: Int) -> Int? {
    var v = 0
    for k in at..<(at + n) {
        let c = p[k] &- 0x30
        guard c < 10 else { return nil }
        v = v * 10 + Int(c)
    }
    return v
}

extension CalendarDate {
    /// The date UTC+8 (China Standard Time, no daylight saving) shows at `date`: the protocol's
    /// "today" and "current year".
    public static func inUTCPlus8(_ date: Date) -> CalendarDate {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down)) + 8 * 3600
        return Civil.civilFromDays(Civil.floorDiv(seconds, 86_400))
    }

    /// The date UTC+8 shows at `epochMillis` milliseconds since the Unix epoch (a Kafka
    /// message timestamp): section 3's "today" for a consumed message. Exact for every Int64.
    public static func inUTCPlus8(epochMillis: Int64) -> CalendarDate {
        let seconds = Civil.floorDiv(epochMillis, 1000) + 8 * 3600
        return Civil.civilFromDays(Civil.floorDiv(seconds, 86_400))
    }

    /// Parses exactly `YYYY-MM-DD` naming a real day (leap years included); nil otherwise.
    /// Range checks (year ≥ 2000, not after today) are the caller's.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> CalendarDate? {
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D,
            let y = digits(bytes, 0, 4), let m = digits(bytes, 5, 2), let d = digits(bytes, 8, 2),
            (1...12).contains(m), d >= 1, d <= Civil.daysInMonth(year: y, month: m)
        else { return nil }
        return CalendarDate(year: y, month: m, day: d)
    }

    /// `parse` over a string's UTF-8.
    public static func parse(_ text: String) -> CalendarDate? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }
}

/// A checked RFC 3339 `date-time` (section 5.6 of RFC 3339), which always carries an offset.
///
/// Accepted: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, with `T` and `Z` in either
/// case (RFC 3339's ABNF literals are case-insensitive), hours 00–23, minutes and seconds
/// 00–59, offsets up to ±23:59, a fraction of any non-zero number of digits. A space instead of
/// `T` (mentioned by RFC 3339 only as a note) is not accepted.
/// Leap second: `:60` is accepted only where RFC 3339 §5.7 allows one, i.e. when the instant,
/// moved to UTC by its offset, is 23:59:60 on the last day of a month; anywhere else it is not
/// a real time. Such an instant counts as the first millisecond of the next minute.
public struct RFC3339Timestamp: Sendable, Hashable {
    public var date: CalendarDate
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// Offset from UTC in minutes (`+08:00` → 480; `Z` → 0).
    public var offsetMinutes: Int
    /// The instant in whole milliseconds since the Unix epoch, rounded down.
    public var epochMillis: Int64
    /// Whether the fraction had a non-zero digit beyond milliseconds (so `epochMillis` was rounded).
    public var hasSubMillisecondPart: Bool

    /// The instant rounded up to a whole millisecond.
    public var epochMillisRoundedUp: Int64 { hasSubMillisecondPart ? epochMillis + 1 : epochMillis }

    /// Parses and checks a date-time; nil when malformed or not a real instant.
    public static func parse(_ p: UnsafeRawBufferPointer) -> RFC3339Timestamp? {
        let n = p.count
        guard n >= 20, p[4] == 0x2D, p[7] == 0x2D, p[10] | 0x20 == 0x74, p[13] == 0x3A, p[16] == 0x3A,
            let y = digits(p, 0, 4), let mo = digits(p, 5, 2), let d = digits(p, 8, 2),
            let h = digits(p, 11, 2), let mi = digits(p, 14, 2), let s = digits(p, 17, 2),
            (1...12).contains(mo), d >= 1, d <= Civil.daysInMonth(year: y, month: mo),
            h <= 23, mi <= 59, s <= 60
        else { return nil }
        var i = 19
        var millis = 0
        var beyond = false
        if p[i] == 0x2E {
            i += 1
            let fractionStart = i
            while i < n, p[i] &- 0x30 < 10 {
                let digit = Int(p[i] &- 0x30)
                switch i - fractionStart {
                case 0: millis += digit * 100
                case 1: millis += digit * 10
                case 2: millis += digit
                default: if digit != 0 { beyond = true }
                }
                i += 1
            }
            guard i > fractionStart else { return nil }
        }
        guard i < n else { return nil }
        let offset: Int
        if p[i] | 0x20 == 0x7A {
            guard i + 1 == n else { return nil }
            offset = 0
        } else {
            guard p[i] == 0x2B || p[i] == 0x2D, i + 6 == n, p[i + 3] == 0x3A,
                let oh = digits(p, i + 1, 2), let om = digits(p, i + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offset = (p[i] == 0x2D ? -1 : 1) * (oh * 60 + om)
        }
        let days = Civil.daysFromCivil(year: y, month: mo, day: d)
        let utcMinutes = days * 1440 + Int64(h * 60 + mi - offset)
        if s == 60 {
            let utcDay = Civil.floorDiv(utcMinutes, 1440)
            let utcDate = Civil.civilFromDays(utcDay)
            guard utcMinutes - utcDay * 1440 == 1439,
                utcDate.day == Civil.daysInMonth(year: utcDate.year, month: utcDate.month)
            else { return nil }
        }
        let millisTotal = (utcMinutes * 60 + Int64(s)) * 1000 + Int64(millis)
        return RFC3339Timestamp(
            date: CalendarDate(year: y, month: mo, day: d), hour: h, minute: mi, second: s,
            offsetMinutes: offset, epochMillis: millisTotal, hasSubMillisecondPart: beyond)
    }

    /// `parse` over a string's UTF-8.
    public static func parse(_ text: String) -> RFC3339Timestamp? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }
}

extension CalendarDate {
    /// Days since 1970-01-01 (negative before).
    public var daysSinceEpoch: Int64 { Civil.daysFromCivil(year: year, month: month, day: day) }

    /// The date `days` days after 1970-01-01.
    public init(daysSinceEpoch days: Int64) { self = Civil.civilFromDays(days) }
}

/// Formatting moments as RFC 3339 text, with integer arithmetic only (no formatter state).
extension RFC3339Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the epoch.
    public static func formatUTC(epochMillis: Int64) -> String {
        let seconds = Civil.floorDiv(epochMillis, 1000)
        let millis = epochMillis - seconds * 1000
        let text = format(epochSeconds: seconds, offsetMinutes: 0)
        return text.dropLast() + "." + pad(millis, 3) + "Z"
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (offset 0) or `…+08:00` for whole seconds since the epoch, shown
    /// at a fixed offset from UTC.
    public static func format(epochSeconds: Int64, offsetMinutes: Int) -> String {
        let local = epochSeconds + Int64(offsetMinutes) * 60
        let days = Civil.floorDiv(local, 86_400)
        let second = local - days * 86_400
        let date = CalendarDate(daysSinceEpoch: days)
        var text = "\(date)T\(pad(second / 3600, 2)):\(pad(second / 60 % 60, 2)):\(pad(second % 60, 2))"
        if offsetMinutes == 0 { return text + "Z" }
        let sign = offsetMinutes < 0 ? "-" : "+"
        let magnitude = Int64(abs(offsetMinutes))
        text += "\(sign)\(pad(magnitude / 60, 2)):\(pad(magnitude % 60, 2))"
        return text
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let s = String(value)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
