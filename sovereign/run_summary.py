"""The closing summary of a workflow run: per study its decision, score, the answer's first line and report."""
from __future__ import annotations

import json
from pathlib import Path


def study_summary(study: str, results: str = "results") -> list[str]:
    """The lines for one study, read from its verdict.json (what the tribunal wrote) and its report path."""
    verdict_path = Path(results) / study / "verdict.json"
    report = Path(results) / "report" / f"{study}.html"
    if not verdict_path.exists():
        return [f"{study}: no verdict yet ({verdict_path} not written by this run's targets)"]
    try:
        v = json.loads(verdict_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{study}: {verdict_path} unreadable ({exc})"]
    score = v.get("score")
    score_text = f"{score:.2f}" if isinstance(score, (int, float)) else "?"
    answer = v.get("answer") or []
    first = answer[0] if answer else "(no answer: nothing measured bears on the question)"
    lines = [f"{study}: {v.get('decision', '?')} (score {score_text}, {v.get('verified_claims', 0)} claims "
             f"verified by measurement)", f"  answer: {first}"]
    lines.append(f"  report: {report}" if report.exists() else f"  report: {report} (not rendered in this run)")
    return lines


def run_summary(studies: list[str], results: str = "results") -> str:
    """The whole summary, one block per study."""
    lines = ["", "sovereign: run summary"]
    for study in studies:
        lines += study_summary(study, results)
    return "\n".join(lines) + "\n"
