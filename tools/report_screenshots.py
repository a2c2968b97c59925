"""Screenshot and measure the study reports at 1280 px in headless Chromium (docs/screenshots/).

  python tools/report_screenshots.py [--reports results/report] [--out docs/screenshots] [cpu gpu routing]

Writes <study>.png (the first screen, 1280 x 900) and layout.json (what Chromium measured per report and the
problems found: a table or chart wider than the page, the answer or verdict below the first screen, claims not
shown by their words). Exits 1 when a report has a problem; tests/test_report_layout.py checks the committed files.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sovereign.report.layout import measure, problems, screenshot

WIDTH, HEIGHT = 1280, 900


def main() -> int:
    """Measure and screenshot each study's report; write layout.json; 1 when any report has a problem."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("studies", nargs="*", default=["cpu", "gpu", "routing"])
    ap.add_argument("--reports", default="results/report")
    ap.add_argument("--out", default="docs/screenshots")
    args = ap.parse_args()
    out, summary = Path(args.out), {}
    for study in args.studies:
        page = Path(args.reports) / f"{study}.html"
        m = measure(page, WIDTH, HEIGHT)
        screenshot(page, out / f"{study}.png", WIDTH, HEIGHT)
        summary[study] = {"report": str(page), "viewport": m["viewport"], "page_width": m["page_width"],
                          "widest_table_right": max((t["right"] for t in m["tables"]), default=0),
                          "widest_chart_right": max((c["right"] for c in m["charts"]), default=0),
                          "charts": len(m["charts"]), "answer": m["answer"], "verdict": m["verdict"],
                          "claim_rows": m["claim_rows"], "claim_rows_with_words": m["claim_rows_with_words"],
                          "answer_text": m["answer_text"], "problems": problems(m)}
        print(f"{study}: {len(summary[study]['problems'])} problems {summary[study]['problems']}")
    (out / "layout.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 1 if any(s["problems"] for s in summary.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
