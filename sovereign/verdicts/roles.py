"""The three tribunal roles. Each returns a 0-10 score and itemised rationale citing evidence.

Rubric (documented in the README, section verdicts):
  VALIDATOR = reproduced claims 1.2 each (max 6) + grounded claims 0.2 each (max 1.5; only claims that are
              not verbatim spans of their paper, found there by a search that could fail: never `self`)
              + independent sources 0.5 per extra paper with grounded claims (max 1.5)
              + corroboration found by re-grounding 0.25 each (max 1) + 1 x share of empirical claims tested;
              capped at 10.
  SKEPTIC   = 10 - topic drift 5 - contradicted claims 2 each (max 4) - other non-reproduced 0.5 each (max 2)
              - implausible claims 1 each (max 2) - ungrounded claims 0.25 each (max 1)
              - method weaknesses 0.5 each (max 1.5) - 1 when most empirical claims are untestable; floored at 0.
  SYNTHESIZER = (VALIDATOR + SKEPTIC) / 2, capped at 3 under topic drift and at 4 when a claim is
              contradicted by measurement.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

EMPIRICAL = ("REPRODUCED", "NOT_REPRODUCED", "UNTESTABLE")
WEAKNESS_PATTERNS = {
    "synthetic or random calibration data for INT8": re.compile(
        r"calibrat\w*[^.]{0,80}\b(random|synthetic)|\b(random|synthetic)[^.]{0,60}calibrat", re.I),
    "synthetic inputs instead of real data": re.compile(r"\bsynthetic (inputs?|data|images|workloads?)\b", re.I),
    "CPU baseline taken from another study": re.compile(r"(baseline|cpu)[^.]{0,60}\b(earlier|previous|prior) (study|work)",
                                                        re.I),
}


@dataclass
class RoundState:
    """Everything one tribunal round looks at."""
    study: str
    round: int
    question: str
    drift: dict
    checks: pd.DataFrame
    claims: pd.DataFrame
    kept_texts: dict
    bench_devices: list
    bench_suites: list
    corroboration: list = field(default_factory=list)


def _item(text: str, points: float, evidence: list[str]) -> dict:
    return {"item": text, "points": round(points, 3), "evidence": evidence}


def _cap(n: int, each: float, most: float) -> float:
    return min(n * each, most)


def _ids(df: pd.DataFrame, limit: int = 8) -> list[str]:
    ids = [f"claim:{c}" for c in df["claim_id"].tolist()]
    return ids[:limit] + ([f"... {len(ids) - limit} more"] if len(ids) > limit else [])


def _bench_refs(df: pd.DataFrame, limit: int = 6) -> list[str]:
    import json
    refs = []
    for rows in df.get("bench_rows", pd.Series(dtype=object)).dropna():
        # entries are {key, origin, hardware, ...}; a reference row says so in the citation
        refs += [f"bench:{r['key']}" + (" (reference)" if r.get("origin") == "reference" else "")
                 if isinstance(r, dict) else f"bench:{r}" for r in json.loads(rows)]
    refs = sorted(set(refs))
    return refs[:limit] + ([f"... {len(refs) - limit} more"] if len(refs) > limit else [])


def _grounded(checks: pd.DataFrame) -> pd.Series:
    """Claims found in their cited paper by a search that could have failed; a verbatim claim (`self`) never counts."""
    searched = checks["support_method"].fillna("self") != "self" if "support_method" in checks else False
    return searched & checks["numbers_grounded"].fillna(False).astype(bool) & (checks["text_support"].fillna(0) >= 0.5)


def method_weaknesses(state: RoundState) -> list[dict]:
    """Weaknesses of method visible in the kept papers, the claims and the measurements."""
    out = []
    for label, pat in WEAKNESS_PATTERNS.items():
        hits = [pid for pid, text in state.kept_texts.items() if pat.search(text or "")]
        if hits:
            out.append(_item(f"method weakness: {label}", -0.5, [f"paper:{p}" for p in hits[:4]]))
    claims = state.claims
    if not claims.empty and {"subject_precision", "subject_backend"} <= set(claims.columns):
        pairs = claims.dropna(subset=["subject_precision", "subject_backend"])
        by_prec = pairs.groupby(pairs["subject_precision"].str.lower())["subject_backend"].agg(
            lambda s: frozenset(x.lower() for x in s))
        if len(by_prec) >= 2 and all(len(a & b) == 0 for i, a in enumerate(by_prec) for b in list(by_prec)[i + 1:]):
            desc = "; ".join(f"{p}: {'/'.join(sorted(b))}" for p, b in by_prec.items())
            out.append(_item(f"method weakness: precision confounded with framework ({desc})", -0.5,
                             _ids(pairs)))
    used = " ".join(state.checks["bench_rows"].dropna()) if "bench_rows" in state.checks else ""
    if "moe_routing/" in used:
        out.append(_item("method weakness: routing measurements use shape-matched synthetic workloads, not the "
                         "VQAv2/Visual7W datasets", -0.5, ["suite:moe_routing"]))
    return out


def skeptic(state: RoundState) -> tuple[float, list[dict]]:
    """Topic drift, contradicted or unreproduced claims, implausible numbers, ungrounded claims, weak method."""
    c, items = state.checks, []
    if state.drift["drift"]:
        items.append(_item("topic drift: " + "; ".join(state.drift["reasons"]), -5,
                           [f"paper:{p}" for p in list(state.kept_texts)[:6]] or ["papers: none kept"]))
    contra = c[c["contradicted"].astype(bool)] if not c.empty else c
    if len(contra):
        items.append(_item(f"{len(contra)} claims contradicted by measurement (off by more than the contradiction "
                           "factor)", -_cap(len(contra), 2, 4), _ids(contra) + _bench_refs(contra)))
    notrep = c[(c["status"] == "NOT_REPRODUCED") & ~c["contradicted"].astype(bool)] if not c.empty else c
    if len(notrep):
        items.append(_item(f"{len(notrep)} claims not reproduced within tolerance", -_cap(len(notrep), 0.5, 2),
                           _ids(notrep) + _bench_refs(notrep)))
    implaus = c[c["plausibility"] == "implausible"] if not c.empty else c
    if len(implaus):
        detail = "; ".join(f"{r.claim_id}: {r.plausibility_reason}" for r in implaus.head(3).itertuples())
        items.append(_item(f"{len(implaus)} claims physically implausible ({detail})", -_cap(len(implaus), 1, 2),
                           _ids(implaus)))
    emp = c[c["status"].isin(EMPIRICAL)] if not c.empty else c
    ungrounded = emp[emp["numbers_grounded"].eq(False) | (emp["text_support"].fillna(1) < 0.3)] if len(emp) else emp
    if len(ungrounded):
        items.append(_item(f"{len(ungrounded)} claims weakly grounded in their source", -_cap(len(ungrounded), 0.25, 1),
                           _ids(ungrounded)))
    budget = 1.5
    for w in method_weaknesses(state):
        w["points"] = -min(0.5, budget)
        budget += w["points"]
        items.append(w)
    unt = emp[emp["status"] == "UNTESTABLE"] if len(emp) else emp
    if len(emp) and len(unt) / len(emp) > 0.5:
        missing = sorted({r.split(";")[0] for r in unt["reason"]})[:5]
        items.append(_item(f"{len(unt)} of {len(emp)} empirical claims cannot be tested here ({'; '.join(missing)}); "
                           f"devices measured: {', '.join(state.bench_devices) or 'none'}", -1, _ids(unt)))
    if not items:
        items.append(_item("no objection found", 0, []))
    return max(0.0, 10 + sum(i["points"] for i in items)), items


def validator(state: RoundState) -> tuple[float, list[dict]]:
    """Grounded and reproduced claims, independent sources, corroboration, measurement coverage."""
    c, items = state.checks, []
    rep = c[c["status"] == "REPRODUCED"] if not c.empty else c
    if len(rep):
        items.append(_item(f"{len(rep)} claims reproduced by measurement within {c['tolerance'].iloc[0]:.0%}",
                           _cap(len(rep), 1.2, 6), _ids(rep) + _bench_refs(rep)))
    emp = c[c["status"].isin(EMPIRICAL)] if not c.empty else c
    grounded = emp[_grounded(emp)] if len(emp) else emp
    if len(grounded):
        items.append(_item(f"{len(grounded)} restated claims found in their cited paper (numbers found, support >= 0.5)",
                           _cap(len(grounded), 0.2, 1.5), _ids(grounded)))
        papers = sorted(grounded["paper_id"].dropna().unique())
        if len(papers) > 1:
            items.append(_item(f"{len(papers)} independent papers contribute grounded claims",
                               _cap(len(papers) - 1, 0.5, 1.5), [f"paper:{p}" for p in papers[:6]]))
    empirical_ids = set(emp["claim_id"]) if len(emp) else set()
    corr = [x for x in state.corroboration if x["independent"] and x["claim_id"] in empirical_ids]
    if corr:
        items.append(_item(f"{len(corr)} claims corroborated by another fetched paper (re-grounding)",
                           _cap(len(corr), 0.25, 1),
                           [f"claim:{x['claim_id']}~paper:{x['paper_id']} ({x['similarity']:.2f})" for x in corr[:6]]))
    if len(emp):
        tested = emp["status"].isin(["REPRODUCED", "NOT_REPRODUCED"]).sum()
        items.append(_item(f"{tested} of {len(emp)} empirical claims tested against measurements", tested / len(emp),
                           [f"devices:{','.join(state.bench_devices) or 'none'}"]))
    if not items:
        items.append(_item("no supporting evidence found", 0, []))
    return min(10.0, sum(i["points"] for i in items)), items


def synthesizer(state: RoundState, skeptic_score: float, validator_score: float) -> tuple[float, list[dict]]:
    """Combine the two roles by the rubric; cap under topic drift or contradiction."""
    score = (skeptic_score + validator_score) / 2
    items = [_item(f"mean of VALIDATOR {validator_score:.2f} and SKEPTIC {skeptic_score:.2f} = {score:.2f}", score,
                   ["role:VALIDATOR", "role:SKEPTIC"])]
    if state.drift["drift"] and score > 3:
        items.append(_item("capped at 3: topic drift", 3 - score, ["role:SKEPTIC"]))
        score = 3.0
    contra = int(state.checks["contradicted"].astype(bool).sum()) if not state.checks.empty else 0
    if contra and score > 4:
        items.append(_item(f"capped at 4: {contra} claims contradicted by measurement", 4 - score, ["role:SKEPTIC"]))
        score = 4.0
    verified = int((state.checks["status"] == "REPRODUCED").sum()) if not state.checks.empty else 0
    items.append(_item(f"{verified} verified claims (REPRODUCED)", 0, _ids(state.checks[state.checks["status"] == "REPRODUCED"])
                       if verified else []))
    return round(max(0.0, min(10.0, score)), 3), items


def render(items: list[dict]) -> str:
    """Itemised rationale as text lines: '- item (+1.2) [evidence]'."""
    return "\n".join(f"- {i['item']} ({i['points']:+.2f})" + (f" [{', '.join(i['evidence'])}]" if i["evidence"] else "")
                     for i in items)
