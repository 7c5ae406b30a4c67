// `report.html` of a snapshot (issue 14): one self-contained page, Chinese and English, drawn
// from the snapshot's own files (indicators.csv, completeness.csv, warnings.csv, revisions.csv,
// the manifest), so that `sti report` can write it again for any run from the folder alone.
//
// Charts are SVG rendered here rather than by a JavaScript chart library: the page must print
// and open offline from disk, every number in it must be exactly the text of indicators.csv (a
// library would reformat numbers it plots), and an SVG bar or line costs a few hundred bytes
// where Chart.js would add ~200 KB of script to every snapshot. There is no script at all.
//
// Every figure from indicators.csv is an element with `data-year`, `data-geo` and
// `data-indicator` whose text is the CSV cell, so a test can compare the rendered page with
// the file. Every text is HTML-escaped (county names and explanations are submitted text).

import Foundation
public import STIProtocol

public enum ReportHTML {
    /// The page for the run folder `folder`, whose tables are already written.
    public static func render(folder: String, manifest: Manifest, registry: Registry) throws(SnapshotReadError)
        -> String
    {
        let indicators = try SnapshotTable.read(
            folder + "/" + SnapshotWriter.indicatorsFile, header: indicatorsCSVHeader)
        let completeness = try SnapshotTable.read(
            folder + "/" + SnapshotWriter.completenessFile, header: completenessCSVHeader)
        let warnings = try SnapshotTable.read(folder + "/" + SnapshotWriter.warningsFile, header: warningsCSVHeader)
        let revisionsPath = folder + "/" + SnapshotWriter.revisionsFile
        let revisions =
            FileManager.default.fileExists(atPath: revisionsPath)
            ? try SnapshotTable.read(revisionsPath, header: revisionsCSVHeader)
            : SnapshotTable(header: revisionsCSVHeader, rows: [])
        return Page(
            indicators: indicators, completeness: completeness, warnings: warnings, revisions: revisions,
            manifest: manifest, registry: registry
        ).html()
    }

    /// `&`, `<`, `>`, `"` and `'` as character references: safe in text and in quoted attributes.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Chinese and English names of the indicators (section 7).
    static func names(_ i: Indicator) -> (zh: String, en: String) {
        switch i {
        case .rdExpenditure: ("R&D经费支出", "R&D expenditure")
        case .enterpriseRDShare: ("规上企业R&D经费占比", "Enterprise share of R&D")
        case .rdIntensity: ("R&D经费投入强度", "R&D intensity (of GDP)")
        case .techContracts: ("技术合同数", "Technology contracts")
        case .techContractValue: ("技术合同成交额", "Technology contract value")
        case .techTransactionValue: ("技术交易额", "Technology transaction value")
        case .techContractValueSSEAsia: ("面向南亚东南亚技术合同额", "Contract value, South & Southeast Asia")
        case .highTechEnterprises: ("高新技术企业数", "High-tech enterprises")
        case .inventionPatentsPer10k: ("每万人发明专利拥有量", "Invention patents per 10,000 residents")
        case .highTechOutputShare: ("高新技术产业产值占比", "High-tech share of industrial output")
        }
    }

    static func unitName(_ unit: String) -> String {
        switch unit {
        case "100m_cny": "亿元 · 100m CNY"
        case "percent": "% · percent"
        case "count": "个 · count"
        case "per_10k_residents": "件/万人 · per 10k residents"
        default: unit
        }
    }

    static func statusName(_ status: String) -> String {
        switch status {
        case "ok": "正常 ok"
        case "partial": "部分 partial"
        case "missing": "缺失 missing"
        case "undefined": "无定义 undefined"
        default: status
        }
    }
}

/// One render of the page.
private struct Page {
    var indicators: SnapshotTable
    var completeness: SnapshotTable
    var warnings: SnapshotTable
    var revisions: SnapshotTable
    var manifest: Manifest
    var registry: Registry

    typealias Cell = (
        value: String, status: String, nameZh: String, nameEn: String, reporting: String, expected: String
    )

    func e(_ s: String) -> String { ReportHTML.escape(s) }

    /// indicators.csv by year, geography, indicator.
    var table: [Int: [String: [String: Cell]]] {
        var t: [Int: [String: [String: Cell]]] = [:]
        for r in indicators.rows {
            guard let year = Int(r[0]) else { continue }
            t[year, default: [:]][r[1], default: [:]][r[4]] = (r[5], r[7], r[2], r[3], r[8], r[9])
        }
        return t
    }

    var years: [Int] { Array(Set(indicators.rows.compactMap { Int($0[0]) })).sorted() }

    /// Geography codes in indicators.csv order, with names.
    var geographies: [(code: String, zh: String, en: String)] {
        var seen = Set<String>()
        var out: [(String, String, String)] = []
        for r in indicators.rows where seen.insert(r[1]).inserted { out.append((r[1], r[2], r[3])) }
        return out
    }

    /// The figure as an element the browser test reads.
    func figure(_ year: Int, _ geo: String, _ indicator: String, _ cell: Cell?) -> String {
        let value = cell?.value ?? ""
        let status = cell?.status ?? "missing"
        let shown = value.isEmpty ? "—" : value
        return
            "<span class=\"fig st-\(e(status))\" data-year=\"\(year)\" data-geo=\"\(e(geo))\" data-indicator=\"\(e(indicator))\" data-status=\"\(e(status))\" data-value=\"\(e(value))\">\(e(shown))</span>"
            + (status == "ok"
                ? "" : " <span class=\"badge st-\(e(status))\">\(e(ReportHTML.statusName(status)))</span>")
    }

    func html() -> String {
        let t = table
        let latest = years.last
        var body = ""
        body +=
            "<header><h1>昆明市科技统计快照 <span class=\"en\">Kunming science &amp; technology statistics snapshot</span></h1>"
        body +=
            "<p>运行 Run <code>\(e(manifest.runId))</code> · \(e(manifest.finishedAt)) · 认证 authentication <b>\(e(manifest.authentication))</b>"
        if let latest { body += " · 最新年份 latest year <b>\(latest)</b>" }
        body +=
            "</p><p class=\"legend\">图例 Legend: <span class=\"badge st-partial\">部分 partial</span> 只含部分区县 some counties only · <span class=\"badge st-missing\">缺失 missing</span> 无数据 no data (not zero) · <span class=\"badge st-undefined\">无定义 undefined</span> 分母为零 zero denominator</p></header>"
        body += planSection(t)
        if let latest { body += latestSection(t, year: latest) }
        body += seriesSection(t)
        if let latest { body += completenessSection(year: latest) }
        body += revisionsSection()
        body += provenanceSection()
        return """
            <!DOCTYPE html>
            <html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>科技统计快照 STI snapshot \(e(manifest.runId))</title>
            <style>\(Self.style)</style></head>
            <body>\(body)</body></html>

            """
    }

    static let style = """
        body{font-family:"Noto Sans CJK SC","Noto Sans",sans-serif;margin:0 auto;max-width:1100px;padding:12px;color:#1b1b1b}
        h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:2px solid #2b6cb0;margin-top:1.6em}.en{color:#555;font-weight:normal;font-size:.85em}
        table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
        th{background:#eef3f8}td.num{text-align:right;font-variant-numeric:tabular-nums}.scroll{overflow-x:auto}
        .badge{display:inline-block;font-size:.75em;padding:0 4px;border-radius:3px;white-space:nowrap}
        .badge.st-partial{background:#fff3c4;color:#7a5a00}.badge.st-missing{background:#eee;color:#555;border:1px dashed #888}
        .badge.st-undefined{background:#fde2e2;color:#8a1c1c}.fig.st-missing,.fig.st-undefined{color:#777}
        .chart{margin:.3em 0 1.2em}svg{max-width:100%;height:auto}svg text{font-size:11px;font-family:inherit}
        .recv{background:#e6f4ea}.miss{background:#f3f3f3;color:#666}.held{outline:2px solid #c53030}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:8px}
        @media print{.scroll{overflow:visible}h2{page-break-after:avoid}}
        """

    // MARK: Plan (section 9)

    func planSection(_ t: [Int: [String: [String: Cell]]]) -> String {
        var s =
            "<section id=\"plan\"><h2>规划进展 <span class=\"en\">Progress against the 14th Five-Year plan (昆明市 Kunming, 530100)</span></h2>"
        s +=
            "<div class=\"scroll\"><table><tr><th>指标 Indicator</th><th>单位 Unit</th><th>2015 规划实际 plan actual</th><th>2020 规划实际 plan actual</th><th>2025 目标 target</th>"
        for y in years { s += "<th>\(y)</th>" }
        s += "<th>达成目标所需年增长 Growth needed a year</th></tr>"
        for indicator in Indicator.allCases {
            let figures = Self.planFigures.filter { $0.indicator == indicator }
            guard !figures.isEmpty else { continue }
            let names = ReportHTML.names(indicator)
            func plan(_ year: Int) -> String { figures.first { $0.year == year }?.value ?? "" }
            s +=
                "<tr><td>\(e(names.zh))<br><span class=\"en\">\(e(names.en))</span></td><td>\(e(ReportHTML.unitName(indicator.unit)))</td>"
            s +=
                "<td class=\"num\">\(e(plan(2015)))</td><td class=\"num\">\(e(plan(2020)))</td><td class=\"num\">\(e(plan(2025)))</td>"
            for y in years {
                s +=
                    "<td class=\"num\">\(figure(y, "530100", indicator.rawValue, t[y]?["530100"]?[indicator.rawValue]))</td>"
            }
            s += "<td>\(e(growthNeeded(indicator, target: figures.first { $0.kind == .target }, t)))</td></tr>"
        }
        s +=
            "</table></div><p class=\"en\">年增长为展示用的近似值（复利）；表中其余数字与 indicators.csv 完全一致。Growth rates are rounded display values (compound); every other number is exactly the text of indicators.csv.</p></section>"
        return s
    }

    /// Section 9's figures: PlanTargets' (which the CLI's progress table also prints), and the 2020
    /// high-tech output share of section 9 where PlanTargets does not list it.
    static var planFigures: [PlanFigure] {
        var figures = PlanTargets.figures
        if !figures.contains(where: { $0.indicator == .highTechOutputShare }) {
            figures.append(PlanFigure(indicator: .highTechOutputShare, year: 2020, value: "40", kind: .actual))
        }
        return figures
    }

    /// The compound yearly growth from the latest year with a value to the target, as display text.
    func growthNeeded(_ indicator: Indicator, target: PlanFigure?, _ t: [Int: [String: [String: Cell]]]) -> String {
        guard let target else {
            // Section 9: R&D expenditure grew 10.40 % a year from 2015 to 2020.
            return indicator == .rdExpenditure
                ? "规划未设目标 no target · 2015→2020: 10.40% / 年 a year" : "规划未设目标 no target in the plan"
        }
        guard
            let (year, value) = years.reversed().lazy.compactMap({ y -> (Int, Double)? in
                guard let c = t[y]?["530100"]?[indicator.rawValue], c.status == "ok", let v = Double(c.value) else {
                    return nil
                }
                return (y, v)
            }).first, let goal = Double(target.value), value > 0
        else { return "无数据 no data" }
        guard year < target.year else {
            let share = String(format: "%.1f%%", value / goal * 100)
            return value >= goal
                ? "已达成 reached (\(year): \(share))" : "未达成 not reached: \(year) 达到目标的 \(share) of the target"
        }
        let rate = (pow(goal / value, 1 / Double(target.year - year)) - 1) * 100
        return String(format: "%.1f%% / 年 a year (%d→%d)", rate, year, target.year)
    }

    // MARK: Latest year across geographies

    func latestSection(_ t: [Int: [String: [String: Cell]]], year: Int) -> String {
        var s =
            "<section id=\"latest\"><h2>\(year) 年各地区 <span class=\"en\">Each indicator across the geographies, \(year)</span></h2><div class=\"charts\">"
        for indicator in Indicator.allCases {
            let names = ReportHTML.names(indicator)
            let geos = geographies
            let cells = geos.map { t[year]?[$0.code]?[indicator.rawValue] }
            let maxValue = cells.compactMap { $0.flatMap { Double($0.value) } }.max() ?? 0
            let rowH = 18
            let labelW = 150
            let barW = 120
            let width = labelW + barW + 130
            var svg =
                "<svg viewBox=\"0 0 \(width) \(geos.count * rowH + 6)\" width=\"\(width)\" role=\"img\" aria-label=\"\(e(names.en)) \(year)\">"
            svg +=
                "<defs><pattern id=\"hatch-\(indicator.rawValue)\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"3\" height=\"6\" fill=\"#d69e2e\"/></pattern></defs>"
            for (i, g) in geos.enumerated() {
                let y = i * rowH + 3
                let c = cells[i]
                let value = c?.value ?? ""
                let status = c?.status ?? "missing"
                let derived = g.code == "KM-CORE" || g.code == "KM-DEMO" || g.code == "530100"
                svg +=
                    "<text x=\"\(labelW - 4)\" y=\"\(y + 12)\" text-anchor=\"end\"\(derived ? " font-weight=\"bold\"" : "")>\(e(g.zh))</text>"
                if let v = Double(value), !value.isEmpty {
                    let w = maxValue > 0 ? max(1, Int((v / maxValue * Double(barW)).rounded())) : 1
                    let fill = status == "ok" ? (derived ? "#2c5282" : "#4299e1") : "url(#hatch-\(indicator.rawValue))"
                    svg +=
                        "<rect x=\"\(labelW)\" y=\"\(y + 2)\" width=\"\(w)\" height=\"\(rowH - 5)\" fill=\"\(fill)\"/>"
                    svg +=
                        "<text x=\"\(labelW + w + 4)\" y=\"\(y + 12)\" class=\"fig\" data-year=\"\(year)\" data-geo=\"\(e(g.code))\" data-indicator=\"\(e(indicator.rawValue))\" data-status=\"\(e(status))\" data-value=\"\(e(value))\">\(e(value))</text>"
                    if status != "ok" {
                        svg +=
                            "<text x=\"\(labelW + barW + 75)\" y=\"\(y + 12)\" fill=\"#7a5a00\">\(e(ReportHTML.statusName(status)))</text>"
                    }
                } else {
                    // No value: an outlined empty box and the status, never a bar of length zero.
                    svg +=
                        "<rect x=\"\(labelW)\" y=\"\(y + 2)\" width=\"\(barW)\" height=\"\(rowH - 5)\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"3 2\"/>"
                    svg +=
                        "<text x=\"\(labelW + 6)\" y=\"\(y + 12)\" fill=\"#666\" class=\"fig\" data-year=\"\(year)\" data-geo=\"\(e(g.code))\" data-indicator=\"\(e(indicator.rawValue))\" data-status=\"\(e(status))\" data-value=\"\">\(e(ReportHTML.statusName(status)))</text>"
                }
            }
            svg += "</svg>"
            s +=
                "<div class=\"chart\"><h3>\(e(names.zh)) <span class=\"en\">\(e(names.en)) · \(e(ReportHTML.unitName(indicator.unit)))</span></h3>\(svg)</div>"
        }
        return s + "</div></section>"
    }

    // MARK: Time series

    func seriesSection(_ t: [Int: [String: [String: Cell]]]) -> String {
        let lines: [(code: String, color: String)] = [
            ("530100", "#2c5282"), ("KM-CORE", "#c05621"), ("KM-DEMO", "#2f855a"),
        ]
        var s = "<section id=\"series\"><h2>时间序列 <span class=\"en\">Time series: the city and the two areas</span></h2>"
        s += "<p class=\"legend\">"
        for l in lines {
            let name = geographies.first { $0.code == l.code }
            s += "<span style=\"color:\(l.color)\">■</span> \(e(name?.zh ?? l.code)) \(e(name?.en ?? "")) "
        }
        s += "</p><div class=\"charts\">"
        let ys = years
        for indicator in Indicator.allCases {
            let names = ReportHTML.names(indicator)
            let width = 330
            let height = 170
            let left = 40
            let right = 10
            let top = 10
            let bottom = 24
            let values = ys.flatMap { y in
                lines.compactMap { t[y]?[$0.code]?[indicator.rawValue].flatMap { Double($0.value) } }
            }
            let maxV = max(values.max() ?? 0, 0)
            let span = maxV > 0 ? maxV : 1
            func x(_ i: Int) -> Int {
                ys.count <= 1 ? left + (width - left - right) / 2 : left + i * (width - left - right) / (ys.count - 1)
            }
            func y(_ v: Double) -> Int { top + Int(((1 - v / span) * Double(height - top - bottom)).rounded()) }
            var svg =
                "<svg viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" role=\"img\" aria-label=\"\(e(names.en))\">"
            svg +=
                "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"#999\"/>"
            for (i, year) in ys.enumerated() {
                svg += "<text x=\"\(x(i))\" y=\"\(height - 8)\" text-anchor=\"middle\">\(year)</text>"
            }
            for l in lines {
                var points: [String] = []
                for (i, year) in ys.enumerated() {
                    let c = t[year]?[l.code]?[indicator.rawValue]
                    if let c, let v = Double(c.value), !c.value.isEmpty {
                        points.append("\(x(i)),\(y(v))")
                        let dash = c.status == "ok" ? "" : " stroke-dasharray=\"2 1\""
                        svg +=
                            "<circle cx=\"\(x(i))\" cy=\"\(y(v))\" r=\"3\" fill=\"\(c.status == "ok" ? l.color : "#fff")\" stroke=\"\(l.color)\"\(dash)><title>\(e(l.code)) \(year): \(e(c.value)) \(e(c.status))</title></circle>"
                    } else {
                        svg +=
                            "<text x=\"\(x(i))\" y=\"\(height - bottom - 4)\" text-anchor=\"middle\" fill=\"\(l.color)\" font-size=\"9\">×</text>"
                    }
                }
                if points.count > 1 {
                    svg +=
                        "<polyline fill=\"none\" stroke=\"\(l.color)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>"
                }
            }
            svg += "</svg>"
            // The exact figures under the chart.
            var table = "<table><tr><th></th>" + ys.map { "<th>\($0)</th>" }.joined() + "</tr>"
            for l in lines {
                table += "<tr><th>\(e(l.code))</th>"
                for year in ys {
                    table +=
                        "<td class=\"num\">\(figure(year, l.code, indicator.rawValue, t[year]?[l.code]?[indicator.rawValue]))</td>"
                }
                table += "</tr>"
            }
            table += "</table>"
            s +=
                "<div class=\"chart\"><h3>\(e(names.zh)) <span class=\"en\">\(e(names.en)) · \(e(ReportHTML.unitName(indicator.unit)))</span></h3>\(svg)<div class=\"scroll\">\(table)</div></div>"
        }
        return s
            + "</div><p class=\"en\">× 该年无数值 no value that year (missing, partial ratio or undefined); a hollow point is a partial sum.</p></section>"
    }

    // MARK: Completeness

    func completenessSection(year: Int) -> String {
        var held: [String: Int] = [:]
        for w in warnings.rows where w[0] == String(year) && w[8] == "held" { held["\(w[1])|\(w[2])", default: 0] += 1 }
        var s =
            "<section id=\"completeness\"><h2>\(year) 年报送情况 <span class=\"en\">Completeness, \(year): geography × kind</span></h2>"
        s +=
            "<div class=\"scroll\"><table><tr><th>地区 Geography</th><th>R&amp;D 经费 rd</th><th>技术合同 tech-contract</th><th>区县概况 county-profile</th></tr>"
        var order: [String] = []
        var names: [String: String] = [:]
        var cells: [String: [String: (String, String)]] = [:]
        for r in completeness.rows where r[0] == String(year) {
            if names[r[1]] == nil {
                order.append(r[1])
                names[r[1]] = r[2]
            }
            cells[r[1], default: [:]][r[3]] = (r[4], r[5])
        }
        for code in order {
            s += "<tr><td>\(e(names[code] ?? "")) <code>\(e(code))</code></td>"
            for kind in RecordKind.allCases {
                let (records, status) = cells[code]?[kind.rawValue] ?? ("0", "missing")
                let h = held["\(code)|\(kind.rawValue)"] ?? 0
                let mark = h > 0 ? " <span class=\"badge st-undefined\" title=\"held\">⚠ 待核实 held ×\(h)</span>" : ""
                s +=
                    "<td class=\"\(status == "received" ? "recv" : "miss")\(h > 0 ? " held" : "")\">"
                    + (status == "received" ? "✓ 已收 received (\(e(records)))" : "— 未收 missing") + mark + "</td>"
            }
            s += "</tr>"
        }
        s += "</table></div>"
        let explained = warnings.rows.filter { $0[0] == String(year) }
        if !explained.isEmpty {
            s +=
                "<h3>核实性提示 <span class=\"en\">Plausibility warnings (warnings.csv)</span></h3><div class=\"scroll\"><table><tr>"
                + [
                    "地区 geo", "类型 kind", "标识 identity", "代码 code", "字段 field", "数值 value", "对比 compared with",
                    "处理 disposition", "说明 explanation", "来源 source",
                ].map { "<th>\($0)</th>" }.joined() + "</tr>"
            for w in explained {
                s +=
                    "<tr><td>\(e(w[1]))</td><td>\(e(w[2]))</td><td>\(e(w[3]))</td><td>\(e(w[4]))</td><td>\(e(w[5]))</td><td class=\"num\">\(e(w[6]))</td><td class=\"num\">\(e(w[7]))</td><td>\(e(w[8]))</td><td>\(e(w[9]))</td><td><code>\(e(w[10])):\(e(w[11]))@\(e(w[12]))</code></td></tr>"
            }
            s += "</table></div>"
        }
        return s + "</section>"
    }

    // MARK: Revisions

    func revisionsSection() -> String {
        var s =
            "<section id=\"revisions\"><h2>与上一快照相比的变化 <span class=\"en\">What changed since the previous snapshot (revisions.csv)</span></h2>"
        guard manifest.previousRunId != nil || !revisions.rows.isEmpty else {
            return s + "<p>这是第一个快照。This is the first snapshot: nothing to compare with.</p></section>"
        }
        s +=
            "<p>上一快照 previous snapshot <code>\(e(manifest.previousRunId ?? "—"))</code>: \(revisions.rows.count) 行变化 rows changed.</p>"
        guard !revisions.rows.isEmpty else { return s + "</section>" }
        s +=
            "<div class=\"scroll\"><table><tr><th>年 year</th><th>地区 geo</th><th>指标 indicator</th><th>原值 previous</th><th>原状态 previous status</th><th>新值 value</th><th>新状态 status</th></tr>"
        for r in revisions.rows.prefix(500) {
            s +=
                "<tr><td>\(e(r[0]))</td><td>\(e(r[1]))</td><td>\(e(r[2]))</td><td class=\"num\">\(e(r[3]))</td><td>\(e(r[4]))</td><td class=\"num\">\(e(r[5]))</td><td>\(e(r[6]))</td></tr>"
        }
        s += "</table></div>"
        if revisions.rows.count > 500 { s += "<p>仅列前 500 行 first 500 rows shown; all are in revisions.csv.</p>" }
        return s + "</section>"
    }

    // MARK: Provenance

    func provenanceSection() -> String {
        let m = manifest
        var s = "<section id=\"provenance\"><h2>来源 <span class=\"en\">Provenance of this run</span></h2><table>"
        let facts: [(String, String)] = [
            ("运行 run id", m.runId), ("上一运行 previous run", m.previousRunId ?? "—"), ("开始 started", m.startedAt),
            ("结束 finished", m.finishedAt), ("程序版本 program version", m.programVersion),
            ("认证 authentication", m.authentication),
            ("读取 read", String(m.counts.read)), ("接受 accepted", String(m.counts.accepted)),
            ("重复 duplicates", String(m.counts.duplicates)), ("拒绝 rejected", String(m.counts.rejected)),
            ("待核实 held", String(m.counts.held)),
        ]
        for (k, v) in facts { s += "<tr><th>\(e(k))</th><td>\(e(v))</td></tr>" }
        s +=
            "</table><h3>消费的偏移量 <span class=\"en\">Offsets consumed</span></h3><div class=\"scroll\"><table><tr><th>topic</th><th>partition</th><th>first offset</th><th>end offset (one past last)</th></tr>"
        for o in m.offsets {
            s +=
                "<tr><td>\(e(o.topic))</td><td class=\"num\">\(o.partition)</td><td class=\"num\">\(o.firstOffset)</td><td class=\"num\">\(o.endOffset)</td></tr>"
        }
        s +=
            "</table></div><p>每个数字可用 <code>sti explain</code> 追溯到具体报送记录及其偏移量（records/ 目录）。Every figure traces to its submissions and their offsets with <code>sti explain</code> (the records/ folder).</p></section>"
        return s
    }
}
