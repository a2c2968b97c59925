"""Field-level accuracy of claim extraction on the fixture sentences (a careful reader's reading).

    .venv/bin/python benchmarks/claims_accuracy.py                          # tests/fixtures/claims*.yaml
    .venv/bin/python benchmarks/claims_accuracy.py my_cases.yaml --vocab my_vocab.yaml --show-failures
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sovereign.claims.accuracy import load_cases, score  # noqa: E402
from sovereign.claims.parse import SentenceParser  # noqa: E402
from sovereign.claims.vocab import load_vocab  # noqa: E402

DEFAULT = [ROOT / "tests" / "fixtures" / f"{name}.yaml" for name in ("claims", "claims_hard", "claims_heldout")]


def _table(name: str, res: dict) -> str:
    lines = [f"## {name}: {res['cases']} sentences, overall {res['overall']:.1%}", "", "| field | correct | total | accuracy |",
             "|---|---|---|---|"]
    for field, (right, total) in res["per_field"].items():
        lines.append(f"| {field} | {right} | {total} | {right / total:.1%} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="case files (default: the shared fixture copy, the hard cases, the held-out cases)")
    ap.add_argument("--vocab", default="", help="vocabulary YAML (default: config/vocab.yaml)")
    ap.add_argument("--show-failures", action="store_true")
    ap.add_argument("--json", help="write the per-field counts to this file")
    args = ap.parse_args(argv)
    parser = SentenceParser(load_vocab(args.vocab or None))
    files = [Path(f) for f in args.files] or DEFAULT
    results, all_cases = {}, []
    for f in files:
        cases = load_cases(f)
        all_cases += cases
        results[f.name] = score(cases, parser)
    if len(files) > 1:
        results["all"] = score(all_cases, parser)
    for name, res in results.items():
        print(_table(name, res) + "\n")
        if args.show_failures:
            for fail in res["failures"]:
                print(f"- {fail['text']}\n  wrong: {fail['wrong']}")
    if args.json:
        Path(args.json).write_text(json.dumps({k: {"overall": v["overall"], "per_field": v["per_field"]}
                                               for k, v in results.items()}, indent=2) + "\n", encoding="utf-8")
    worst = min(r / t for res in results.values() for r, t in res["per_field"].values())
    return 0 if worst >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
