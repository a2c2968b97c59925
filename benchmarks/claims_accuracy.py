"""Field-level accuracy of claim extraction on case files (a careful reader's reading), per field and class.

    .venv/bin/python benchmarks/claims_accuracy.py                          # tests/fixtures/claims*.yaml
    .venv/bin/python benchmarks/claims_accuracy.py tests/fixtures/claims_real_dev.yaml --show-failures
    .venv/bin/python benchmarks/claims_accuracy.py my_cases.yaml --vocab my_vocab.yaml --json out.json

Core fields: kind, metric, value, range, unit, qualifier. All fields add subject, baseline and
condition fields. `claims` (the right number of claims) is shown but counted in neither. Named
fields: only the subject, baseline and condition fields that the reading or the extraction fills
(empty-and-empty agreements, which dominate "all", left out).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sovereign.claims.accuracy import load_cases, score_by_class  # noqa: E402
from sovereign.claims.parse import SentenceParser  # noqa: E402
from sovereign.claims.vocab import load_vocab  # noqa: E402

DEFAULT = [ROOT / "tests" / "fixtures" / f"{name}.yaml" for name in
           ("claims", "claims_hard", "claims_heldout", "claims_real_dev", "claims_real_heldout")]


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


def _table(name: str, by_class: dict) -> str:
    classes = list(by_class)
    head = f"## {name}: {by_class['all']['cases']} sentences, {by_class['all']['expected_claims']} claims"
    lines = [head, "", "| field | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|"]
    fields = list(by_class["all"]["per_field"])
    for f in fields:
        cells = []
        for c in classes:
            r, t = by_class[c]["per_field"].get(f, (0, 0))
            cells.append(f"{r}/{t} {r / t:.0%}" if t else "-")
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    for key in ("core", "all", "named"):
        lines.append(f"| **{key} fields** | " + " | ".join(_pct(by_class[c][key]) for c in classes) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="case files (default: every tests/fixtures/claims*.yaml set)")
    ap.add_argument("--vocab", default="", help="vocabulary YAML (default: config/vocab.yaml)")
    ap.add_argument("--show-failures", action="store_true")
    ap.add_argument("--json", help="write the per-field counts per class to this file")
    args = ap.parse_args(argv)
    parser = SentenceParser(load_vocab(args.vocab or None))
    files = [Path(f) for f in args.files] or [f for f in DEFAULT if f.is_file()]
    results = {}
    for f in files:
        res = results[f.name] = score_by_class(load_cases(f), parser)
        print(_table(f.name, res) + "\n")
        if args.show_failures:
            for fail in res["all"]["failures"]:
                print(f"- [{fail['class']}] {fail['text']}\n  wrong: {fail['wrong']}")
            print()
    if args.json:
        Path(args.json).write_text(json.dumps(
            {name: {c: {k: v[k] for k in ("core", "all", "named", "overall", "per_field", "cases")} for c, v in res.items()}
             for name, res in results.items()}, indent=2) + "\n", encoding="utf-8")
    worst = min(r / t for res in results.values() for r, t in res["all"]["per_field"].values())
    return 0 if worst >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
