"""Field-level accuracy of claim extraction against sentences with a careful reader's reading.

The case file is YAML: `claims: [{text, expect}]`, `expect` one claim or a list; a claim
gives kind, metric, value (or from/to, or low/high), unit, qualifier, subject and baseline
(device, model, backend, precision, method, batch). `not_a_claim` expects no claim.
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import yaml

from .parse import SIDE, SentenceParser

VALUE_FIELDS = {"value": "value", "from": "value_from", "to": "value_to", "low": "low", "high": "high"}
FIELDS = ["claims", "kind", "metric", "value", "unit", "qualifier"] + \
    [f"subject_{k}" for k in SIDE] + [f"baseline_{k}" for k in SIDE]


def load_cases(path) -> list[dict]:
    """The cases of a fixture file, each {text, expect: [claims]} (no claims for not_a_claim)."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    cases = []
    for item in raw.get("claims", []):
        exp = item["expect"]
        exp = exp if isinstance(exp, list) else [exp]
        exp = [e for e in exp if e.get("kind") != "not_a_claim"]
        cases.append({"text": item["text"], "expect": exp})
    return cases


def _same(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        none = lambda x: x is None or (isinstance(x, float) and math.isnan(x))  # noqa: E731
        return none(a) and none(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    return str(a).strip().lower() == str(b).strip().lower()


def compare(expect: dict, got: dict | None) -> dict[str, bool]:
    """Field -> correct for one expected claim and the claim extracted in its place (None: missing)."""
    got = got or {}
    out = {"kind": _same(expect.get("kind"), got.get("kind"))}
    if expect.get("kind") == "not_empirical":
        return out
    out["metric"] = _same(expect.get("metric"), got.get("metric"))
    out["value"] = all(_same(expect.get(k), got.get(col)) for k, col in VALUE_FIELDS.items())
    out["unit"] = _same(expect.get("unit"), got.get("unit"))
    if "qualifier" in expect:
        out["qualifier"] = _same(expect["qualifier"], got.get("qualifier"))
    for side in ("subject", "baseline"):
        want = expect.get(side) or {}
        for k in SIDE:
            out[f"{side}_{k}"] = _same(want.get(k), got.get(f"{side}_{k}"))
    return out


def score(cases: list[dict], parser: SentenceParser) -> dict:
    """Per-field correct/total counts over the cases, plus the cases with any wrong field."""
    right, total, failures = Counter(), Counter(), []
    for case in cases:
        got = parser.parse(case["text"])
        fields = {"claims": len(got) == len(case["expect"])}
        for i, exp in enumerate(case["expect"]):
            for f, ok in compare(exp, got[i] if i < len(got) else None).items():
                fields[f"{i}:{f}"] = ok
        for key, ok in fields.items():
            f = key.split(":")[-1]
            total[f] += 1
            right[f] += int(ok)
        bad = sorted(k for k, ok in fields.items() if not ok)
        if bad:
            failures.append({"text": case["text"], "wrong": bad, "got": got})
    per_field = {f: (right[f], total[f]) for f in FIELDS if total[f]}
    overall = sum(r for r, _ in per_field.values()) / max(1, sum(t for _, t in per_field.values()))
    return {"per_field": per_field, "overall": overall, "failures": failures, "cases": len(cases)}
