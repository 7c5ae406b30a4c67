#!/usr/bin/env python3
"""Loads a snapshot's report.html in headless Chromium and checks it (issue 14, point 5).

    browser-test.py RUN_FOLDER SHOTS_DIR

Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: no port, no
network), Python standard library only. Fails (exit 1) when:
  - the page logs a console error or throws,
  - the page makes any request other than loading report.html itself (the network is also
    cut off: a proxy on a closed loopback port, every host name unresolvable),
  - a figure in the rendered DOM (an element with data-indicator) differs from indicators.csv
    (value and status; and its visible text is the value whenever there is one),
  - fewer figures are shown than indicators.csv has rows for the latest year.
Writes desktop.png and phone.png (full page) and desktop-top.png (first screen) into SHOTS_DIR.
Every wait is bounded; Chromium is killed if it does not exit.
"""
import base64, csv, json, os, select, shutil, subprocess, sys, tempfile, time

DEADLINE = time.monotonic() + 120


class Browser:
    def __init__(self, chromium, profile):
        cmd_r, cmd_w = os.pipe()
        ev_r, ev_w = os.pipe()

        def wire():
            a, b = os.dup(cmd_r), os.dup(ev_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--user-data-dir=" + profile, "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-sync",
             "--disable-component-update", "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
             "--hide-scrollbars", "--font-render-hinting=none", "about:blank"],
            preexec_fn=wire, pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        os.close(cmd_r)
        os.close(ev_w)
        self.out, self.inp = cmd_w, ev_r
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.log = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        return self.wait(lambda m: m.get("id") == self.next_id, what=method)

    def wait(self, match, what):
        while True:
            for i, m in enumerate(self.events):
                if match(m):
                    del self.events[i]
                    if "error" in m:
                        raise SystemExit(f"browser-test: {what}: {m['error']}")
                    return m
            remaining = DEADLINE - time.monotonic()
            if remaining <= 0:
                raise SystemExit(f"browser-test: timed out waiting for {what}")
            ready, _, _ = select.select([self.inp], [], [], min(remaining, 5))
            if not ready:
                continue
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise SystemExit(f"browser-test: Chromium closed the pipe waiting for {what}")
            self.buffer += chunk
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                self.events.append(json.loads(raw))
                self.log.append(self.events[-1])

    def close(self):
        try:
            os.write(self.out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def main():
    run, shots = sys.argv[1], sys.argv[2]
    os.makedirs(shots, exist_ok=True)
    report = os.path.realpath(os.path.join(run, "report.html"))
    url = "file://" + report
    with open(os.path.join(run, "indicators.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    expected = {(r[0], r[1], r[4]): (r[5], r[7]) for r in rows}
    latest = max(r[0] for r in rows)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("browser-test: chromium not found (Deploy/install-deps.sh installs it)")
    profile = tempfile.mkdtemp(prefix="sti-chromium-")
    b = Browser(chromium, profile)
    failures = []
    try:
        targets = b.send("Target.getTargets")["result"]["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        session = b.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["result"]["sessionId"]
        for domain in ["Page", "Runtime", "Log", "Network"]:
            b.send(domain + ".enable", session=session)

        def shoot(name, width, height, mobile, full):
            b.send("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session=session)
            b.send("Page.navigate", {"url": url}, session=session)
            b.wait(lambda m: m.get("method") == "Page.loadEventFired", what="load of " + url)
            params = {"format": "png"}
            if full:
                size = b.send("Page.getLayoutMetrics", session=session)["result"]["cssContentSize"]
                params["clip"] = {"x": 0, "y": 0, "width": width, "height": min(size["height"], 16000), "scale": 1}
                params["captureBeyondViewport"] = True
            data = b.send("Page.captureScreenshot", params, session=session)["result"]["data"]
            with open(os.path.join(shots, name), "wb") as f:
                f.write(base64.b64decode(data))

        shoot("desktop-top.png", 1280, 900, False, False)
        figures = json.loads(b.send("Runtime.evaluate", {"expression": """JSON.stringify(
            [...document.querySelectorAll('[data-indicator]')].map(e =>
              [e.dataset.year, e.dataset.geo, e.dataset.indicator, e.dataset.status, e.dataset.value, e.textContent]))""",
            "returnByValue": True}, session=session)["result"]["result"]["value"])
        shoot("desktop.png", 1280, 900, False, True)
        shoot("phone.png", 390, 844, True, True)

        seen_latest = set()
        for year, geo, indicator, status, value, text in figures:
            want = expected.get((year, geo, indicator))
            if want is None:
                failures.append(f"figure {year} {geo} {indicator} is not a row of indicators.csv")
                continue
            if (value, status) != want:
                failures.append(f"figure {year} {geo} {indicator}: page has {value!r} {status}, indicators.csv {want[0]!r} {want[1]}")
            if value and text != value:
                failures.append(f"figure {year} {geo} {indicator}: shown as {text!r}, indicators.csv {value!r}")
            if year == latest:
                seen_latest.add((geo, indicator))
        want_latest = {(r[1], r[4]) for r in rows if r[0] == latest}
        if seen_latest != want_latest:
            failures.append(f"{len(want_latest - seen_latest)} figures of {latest} not shown: {sorted(want_latest - seen_latest)[:5]}")

        for m in b.log:
            method = m.get("method", "")
            p = m.get("params", {})
            if method == "Network.requestWillBeSent" and p["request"]["url"] != url:
                failures.append("network request: " + p["request"]["url"])
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                failures.append("console error: " + json.dumps(p.get("args"))[:300])
            if method == "Runtime.exceptionThrown":
                failures.append("exception: " + json.dumps(p.get("exceptionDetails"))[:300])
            if method == "Log.entryAdded" and p["entry"].get("level") == "error":
                failures.append("log error: " + p["entry"].get("text", "")[:300])
        print(f"browser-test: {len(figures)} figures checked against indicators.csv, "
              f"{sum(1 for m in b.log if m.get('method') == 'Network.requestWillBeSent')} request(s) (the page itself), "
              f"screenshots in {shots}")
    finally:
        b.close()
        shutil.rmtree(profile, ignore_errors=True)
    if failures:
        for f in failures[:50]:
            print("browser-test: FAIL " + f, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
