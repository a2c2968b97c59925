"""Field-level accuracy of claim extraction against sentences with a careful reader's reading.

The case file is YAML: `claims: [{text, expect, class?}]`, `expect` one claim or a list; a claim
gives kind, metric, value (or from/to, or low/high), unit, qualifier, subject and baseline
(device, model, backend, precision, method, batch) and condition (seq_len, latency_ms).
`not_a_claim` expects no claim. `class` groups cases (multi, latex, hedge, ...) for the report.
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import yaml

from .parse import CONDITIONS, SIDE

RANGE_FIELDS = {"from": "value_from", "to": "value_to", "low": "low", "high": "high"}
CORE = ["kind", "metric", "value", "range", "unit", "qualifier"]
FIELDS = ["claims"] + CORE + [f"subject_{k}" for k in SIDE] + [f"baseline_{k}" for k in SIDE] + \
    [f"condition_{k}" for k in CONDITIONS]


def load_cases(path) -> list[dict]:
    """The cases of a fixture file, each {text, expect: [claims], class} (no claims for not_a_claim)."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    cases = []
    for item in raw.get("claims", []):
        exp = item["expect"]
        exp = exp if isinstance(exp, list) else [exp]
        exp = [e for e in exp if e.get("kind") != "not_a_claim"]
        cases.append({"text": item["text"], "expect": exp, "class": str(item.get("class", "fixture"))})
    return cases


def _none(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _same(a, b) -> bool:
    if _none(a) or _none(b):
        return _none(a) and _none(b)
    try:  # 2048 and "2048", 0.5 and "0.5" are the same reading
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    except (TypeError, ValueError):
        return str(a).strip().lower() == str(b).strip().lower()


def compare(expect: dict, got: dict | None) -> dict[str, bool]:
    """Field -> correct for one expected claim and the claim extracted in its place (None: missing)."""
    got = got or {}
    out = {"kind": _same(expect.get("kind"), got.get("kind"))}
    if expect.get("kind") == "not_empirical":
        return out
    out["metric"] = _same(expect.get("metric"), got.get("metric"))
    out["value"] = _same(expect.get("value"), got.get("value"))
    out["range"] = all(_same(expect.get(k), got.get(col)) for k, col in RANGE_FIELDS.items())
    out["unit"] = _same(expect.get("unit"), got.get("unit"))
    if "qualifier" in expect:
        out["qualifier"] = _same(expect["qualifier"], got.get("qualifier"))
    for side, keys in (("subject", SIDE), ("baseline", SIDE), ("condition", CONDITIONS)):
        want = expect.get(side) or {}
        for k in keys:
            out[f"{side}_{k}"] = _same(want.get(k), got.get(f"{side}_{k}"))
    return out


def _share(per_field: dict, names) -> float | None:
    right = sum(per_field[f][0] for f in names if f in per_field)
    total = sum(per_field[f][1] for f in names if f in per_field)
    return right / total if total else None


def score(cases: list[dict], parser) -> dict:
    """Per-field correct/total counts over the cases, core and all-field shares, and the failures.

    `parser` is anything with parse(sentence) -> list of claim dicts."""
    right, total, failures = Counter(), Counter(), []
    named = [0, 0]  # subject/baseline/condition fields that the reading or the extraction fills
    for case in cases:
        got = parser.parse(case["text"])
        fields = {"claims": len(got) == len(case["expect"])}
        for i, exp in enumerate(case["expect"]):
            row = got[i] if i < len(got) else {}
            for f, ok in compare(exp, row).items():
                fields[f"{i}:{f}"] = ok
                side, _, k = f.partition("_")
                if side in ("subject", "baseline", "condition") and (
                        not _none((exp.get(side) or {}).get(k)) or not _none(row.get(f))):
                    named[0] += int(ok)
                    named[1] += 1
        for key, ok in fields.items():
            f = key.split(":")[-1]
            total[f] += 1
            right[f] += int(ok)
        bad = sorted(k for k, ok in fields.items() if not ok)
        if bad:
            failures.append({"text": case["text"], "class": case.get("class"), "wrong": bad, "got": got})
    per_field = {f: (right[f], total[f]) for f in FIELDS if total[f]}
    overall = sum(r for r, _ in per_field.values()) / max(1, sum(t for _, t in per_field.values()))
    return {"per_field": per_field, "overall": overall, "core": _share(per_field, CORE),
            "all": _share(per_field, [f for f in FIELDS if f != "claims"]),
            "named": named[0] / named[1] if named[1] else None,
            "failures": failures, "cases": len(cases), "expected_claims": sum(len(c["expect"]) for c in cases)}


def score_by_class(cases: list[dict], parser) -> dict[str, dict]:
    """score() per case class, plus 'all' over every case."""
    out = {}
    for cls in sorted({c.get("class", "fixture") for c in cases}):
        out[cls] = score([c for c in cases if c.get("class", "fixture") == cls], parser)
    out["all"] = score(cases, parser)
    return out
