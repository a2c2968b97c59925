"""How a report lays out in a real browser: headless Chromium measures a page at a given width (tables and
charts against the page, where the answer and the verdict end, claims shown by their words) and screenshots it."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import ReportError

# runs after the page's own scripts (the charts draw asynchronously) and writes what it measured into the page
MEASURE_JS = """
window.addEventListener('load', function () { setTimeout(function () {
  var W = document.documentElement.clientWidth, H = window.innerHeight;
  function box(e) { var r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top + window.scrollY, bottom: r.bottom + window.scrollY,
            width: r.width}; }
  var tables = Array.prototype.map.call(document.querySelectorAll('table'), function (t) {
    var b = box(t); b.scroll_width = t.scrollWidth; b.client_width = t.clientWidth; return b; });
  var charts = Array.prototype.map.call(document.querySelectorAll('.chart'), function (c) {
    var svg = c.querySelector('svg'); var b = svg ? box(svg) : {right: 0, width: 0};
    b.id = c.id; b.drawn = !!svg; return b; });
  var claims = document.getElementById('claims'), rows = [];
  if (claims) { var t = claims.nextElementSibling;
    while (t && t.tagName !== 'TABLE') { t = t.nextElementSibling; }
    if (t) { rows = Array.prototype.map.call(t.querySelectorAll('tbody tr'), function (r) {
      return !!r.querySelector('.words'); }); } }
  var a = document.getElementById('answer'), v = document.getElementById('verdict');
  var out = {viewport: [W, H], page_width: document.documentElement.scrollWidth, tables: tables, charts: charts,
             answer: a ? box(a) : null, verdict: v ? box(v) : null, answer_text: a ? a.innerText : '',
             claim_rows: rows.length, claim_rows_with_words: rows.filter(Boolean).length};
  var pre = document.createElement('pre'); pre.id = 'layout-measure';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
}, 1500); });
"""


def chromium() -> str:
    """The Chromium executable (tools/apt-packages.txt installs it)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise ReportError("chromium is not installed: run tools/system-deps.sh (it is listed in tools/apt-packages.txt)")
    return exe


def _run(args: list[str], profile: Path, timeout: int = 180) -> str:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={profile}", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise ReportError(f"chromium failed ({res.returncode}): {res.stderr[-1000:]}")
    return res.stdout


def measure(html_path: str | Path, width: int = 1280, height: int = 900) -> dict:
    """Open a copy of the page with the measuring script at width x height; return what it measured."""
    page = Path(html_path).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="sovereign-layout-") as tmp:
        probe = Path(tmp) / "page.html"
        at = page.rfind("</body>")  # the page's own end (the inlined bundle may spell the tag too)
        probe.write_text(page[:at] + f"<script>{MEASURE_JS}</script>" + page[at:], encoding="utf-8")
        dom = _run([f"--window-size={width},{height}", "--virtual-time-budget=15000", "--dump-dom",
                    probe.resolve().as_uri()], Path(tmp) / "profile")
    m = re.search(r'<pre id="layout-measure">(.*?)</pre>', dom, re.S)
    if not m:
        raise ReportError(f"{html_path}: the page did not finish drawing within the time budget")
    return json.loads(html.unescape(m.group(1)))


def problems(measured: dict, first_screen: int | None = None) -> list[str]:
    """What a reader would trip over: a table or chart wider than the page, a page that scrolls sideways, the
    answer or the verdict below the first screen, claims not shown by their words."""
    width, height = measured["viewport"]
    first = first_screen or height
    out = []
    if measured["page_width"] > width:
        out.append(f"the page is {measured['page_width']} px wide, wider than the {width} px window")
    out += [f"table {i} ends at {t['right']:.0f} px (page {width} px) or scrolls ({t['scroll_width']} > "
            f"{t['client_width']})" for i, t in enumerate(measured["tables"])
            if t["right"] > width + 0.5 or t["scroll_width"] > t["client_width"] + 1]
    out += [f"chart {c['id']} ends at {c['right']:.0f} px (page {width} px)" for c in measured["charts"]
            if c["drawn"] and c["right"] > width + 0.5]
    for name in ("answer", "verdict"):
        box = measured.get(name)
        if not box:
            out.append(f"no {name} on the page")
        elif box["top"] > first:
            out.append(f"the {name} starts at {box['top']:.0f} px, below the first screen ({first} px)")
    rows, worded = measured["claim_rows"], measured["claim_rows_with_words"]
    if rows and worded < 0.9 * rows:
        out.append(f"only {worded} of {rows} checked claims are shown by their words")
    return out


def screenshot(html_path: str | Path, png: str | Path, width: int = 1280, height: int = 900) -> Path:
    """The page's first screen at width x height as a PNG."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sovereign-shot-") as tmp:
        _run([f"--window-size={width},{height}", "--virtual-time-budget=15000", f"--screenshot={png}",
              Path(html_path).resolve().as_uri()], Path(tmp) / "profile")
    if not png.is_file():
        raise ReportError(f"chromium wrote no screenshot to {png}")
    return png
