"""The three tribunal roles, each doing its own work: SKEPTIC looks for what refutes the answer, VALIDATOR
for what verifies it, SYNTHESIZER weighs the two and writes the decision with reasons citing both.
Each returns a 0-10 score and an itemised rationale citing evidence; the weights and the policy are in
rubric.py (documented there and in the README's tribunal section)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pandas as pd

from .rubric import WEIGHTS, capped

EMPIRICAL = ("REPRODUCED", "NOT_REPRODUCED", "UNTESTABLE")
# which verified claims a weakness bears on (a weakness that touches none of them does not block ACCEPT)
WEAKNESS_BEARS = {"synthetic or random calibration data for INT8": lambda c: "int8" in _fields(c, "precision"),
                  "synthetic inputs instead of real data": lambda c: False,
                  "CPU baseline taken from another study": lambda c: "cpu" in _fields(c, "device")}
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
    answer: dict = field(default_factory=dict)
    bench: pd.DataFrame = field(default_factory=pd.DataFrame)
    weights: dict = field(default_factory=lambda: dict(WEIGHTS))
    count_class_matches: bool = False
    reference_decides: bool = False
    agree_tolerance: float = 0.15


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


def _fields(c: dict, f: str) -> set[str]:
    return {str(v).lower() for v in (c.get(f"subject_{f}"), c.get(f"baseline_{f}")) if isinstance(v, str) and v}


def method_weaknesses(state: RoundState) -> list[dict]:
    """Weaknesses of method visible in the kept papers, the claims and the measurements."""
    out = []
    for label, pat in WEAKNESS_PATTERNS.items():
        hits = [pid for pid, text in state.kept_texts.items() if pat.search(text or "")]
        if hits:
            out.append({**_item(f"method weakness: {label}", -0.5, [f"paper:{p}" for p in hits[:4]]),
                        "bears": WEAKNESS_BEARS[label]})
    claims = state.claims
    if not claims.empty and {"subject_precision", "subject_backend"} <= set(claims.columns):
        pairs = claims.dropna(subset=["subject_precision", "subject_backend"])
        by_prec = pairs.groupby(pairs["subject_precision"].str.lower())["subject_backend"].agg(
            lambda s: frozenset(x.lower() for x in s))
        if len(by_prec) >= 2 and all(len(a & b) == 0 for i, a in enumerate(by_prec) for b in list(by_prec)[i + 1:]):
            desc = "; ".join(f"{p}: {'/'.join(sorted(b))}" for p, b in by_prec.items())
            out.append({**_item(f"method weakness: precision confounded with framework ({desc})", -0.5,
                                _ids(pairs)), "bears": lambda c: len(_fields(c, "precision")) > 1})
    used = " ".join(state.checks["bench_rows"].dropna()) if "bench_rows" in state.checks else ""
    if "moe_routing/" in used:
        out.append({**_item("method weakness: routing measurements use shape-matched synthetic workloads, not the "
                            "VQAv2/Visual7W datasets", -0.5, ["suite:moe_routing"]), "bears": lambda c: False})
    return out



def _check_rows(state: RoundState) -> dict:
    """claim_id -> claim row (structured fields), for the checks of this round."""
    c = state.claims
    return {} if c is None or c.empty else {r["claim_id"]: r for r in c.to_dict("records")}


def _origin(check: dict, bench: pd.DataFrame) -> str:
    """'run' or 'reference': from the check's row entries (check_claims writes each row's origin), else by key."""
    entries = json.loads(check.get("bench_rows") or "[]")
    if not entries:
        return "run"
    if all(isinstance(e, dict) and "origin" in e for e in entries):
        return "reference" if {e["origin"] for e in entries} == {"reference"} else "run"
    if bench is None or bench.empty or "origin" not in bench:
        return "run"
    from .match import row_key
    keys = {e["key"] if isinstance(e, dict) else e for e in entries}
    origins = {o for r, o in zip(bench.to_dict("records"), bench["origin"]) if row_key(r) in keys}
    return "reference" if origins == {"reference"} else "run"


def _ran_on(check: dict) -> str:
    """The hardware a check's rows ran on, as recorded ('AMD EPYC 7B13')."""
    try:
        rows = json.loads(check.get("bench_rows") or "[]")
    except (TypeError, ValueError):
        return ""
    return ", ".join(sorted({str(r["hardware"]) for r in rows if isinstance(r, dict) and r.get("hardware")}))


def verified(state: RoundState) -> tuple[pd.DataFrame, list[str]]:
    """REPRODUCED checks that count toward ACCEPT, and why the others do not."""
    c = state.checks
    if c.empty:
        return c, []
    rep = c[c["status"] == "REPRODUCED"]
    notes, keep = [], []
    for r in rep.to_dict("records"):
        if bool(r.get("conditional")) is True:
            notes.append(f"{r['claim_id']}: conditional")
        elif r.get("match") == "class" and not state.count_class_matches:
            ran = _ran_on(r)
            notes.append(f"{r['claim_id']}: measured on {ran or 'another device'}, a "
                         f"{'CPU' if 'gpu' not in str(r.get('reason')).lower() else 'device'} of the claimed class, "
                         "counted only with verdicts.count_class_matches")
        elif _origin(r, state.bench) == "reference" and not state.reference_decides:
            notes.append(f"{r['claim_id']}: reproduced only on a reference measurement, counted only with "
                         "verdicts.reference_decides")
        else:
            keep.append(r["claim_id"])
    return rep[rep["claim_id"].isin(keep)], notes


def conflicts(state: RoundState) -> list[dict]:
    """Pairs of on-frame claims from different papers that conflict field by field: the same rule as
    ground_claims' conflicts_with (metric, unit, kind, subject and baseline match; values, qualifiers
    included, do not overlap within the tolerance), so the two never disagree about a pair."""
    from ..claims.ground import relate_claims

    c = state.claims
    if c is None or c.empty or "value" not in c:
        return []
    rel = relate_claims(c, state.agree_tolerance).set_index("claim_id")
    rows = {r["claim_id"]: r for r in c.to_dict("records")}
    out, seen = [], set()
    for a, other in rel["conflicts_with"].items():
        for b in [x for x in str(other).split(",") if x]:
            pair = tuple(sorted((a, b)))
            if pair in seen or b not in rows:
                continue
            seen.add(pair)
            ra, rb = rows[pair[0]], rows[pair[1]]
            out.append({"a": pair[0], "b": pair[1], "papers": (ra["paper_id"], rb["paper_id"]),
                        "values": (float(ra["value"]) if pd.notna(ra.get("value")) else float("nan"),
                                   float(rb["value"]) if pd.notna(rb.get("value")) else float("nan")),
                        "metric": ra.get("metric")})
    return out


def _settled(pair: dict, checks: pd.DataFrame) -> bool:
    st = checks.set_index("claim_id")["status"] if not checks.empty else pd.Series(dtype=object)
    return any(st.get(x) in ("REPRODUCED", "NOT_REPRODUCED") for x in (pair["a"], pair["b"]))


def _untested_reasons(state: RoundState) -> list[str]:
    c = state.checks
    unt = c[c["status"].isin(["UNTESTABLE", "CONDITIONAL"])] if not c.empty else c
    return sorted({str(r).split(";")[0] for r in unt["reason"]})[:5] if len(unt) else []


def skeptic(state: RoundState) -> tuple[float, list[dict]]:
    """What refutes the answer: drift, contradictions, implausible figures, conflicts, weak method, gaps."""
    c, w, items = state.checks, state.weights, []
    if state.drift["drift"]:
        items.append(_item("topic drift: " + "; ".join(state.drift["reasons"]), w["drift"],
                           [f"paper:{p}" for p in list(state.kept_texts)[:6]] or ["papers: none kept"]))
    contra = c[c["contradicted"].astype(bool)] if not c.empty else c
    if len(contra):
        items.append(_item(f"{len(contra)} claims contradicted by measurement (off by more than the contradiction "
                           "factor)", capped(len(contra), w, "contradicted"), _ids(contra) + _bench_refs(contra)))
    notrep = c[(c["status"] == "NOT_REPRODUCED") & ~c["contradicted"].astype(bool)] if not c.empty else c
    if len(notrep):
        items.append(_item(f"{len(notrep)} claims not reproduced within tolerance", capped(len(notrep), w, "not_reproduced"),
                           _ids(notrep) + _bench_refs(notrep)))
    implaus = c[c["plausibility"] == "implausible"] if not c.empty else c
    if len(implaus):
        detail = "; ".join(f"{r.claim_id}: {r.plausibility_reason}" for r in implaus.head(3).itertuples())
        items.append(_item(f"{len(implaus)} claims physically implausible ({detail})", capped(len(implaus), w, "implausible"),
                           _ids(implaus)))
    open_pairs = [p for p in conflicts(state) if not _settled(p, c)]
    if open_pairs:
        desc = "; ".join(f"{p['a']} ({p['papers'][0]}: {p['values'][0]:g}) vs {p['b']} ({p['papers'][1]}: "
                         f"{p['values'][1]:g}) on {p['metric']}" for p in open_pairs[:3])
        items.append(_item(f"{len(open_pairs)} pairs of papers disagree and no measurement settles it: {desc}",
                           capped(len(open_pairs), w, "conflict"), [f"claim:{p[k]}" for p in open_pairs for k in "ab"]))
    emp_all = c[c["status"].isin(EMPIRICAL)] if not c.empty else c
    # only claims searched in their cited paper (not verbatim): a verbatim claim's check is about extraction
    searched = emp_all["support_method"].fillna("self") != "self" if "support_method" in emp_all else False
    ungrounded = emp_all[emp_all["numbers_grounded"].eq(False) & searched] \
        if len(emp_all) and "numbers_grounded" in emp_all else emp_all.iloc[0:0]
    if len(ungrounded):
        items.append(_item(f"{len(ungrounded)} claims whose numbers grounding did not find in the cited paper",
                           capped(len(ungrounded), w, "ungrounded"), _ids(ungrounded)))
    budget = w["weakness_max"]
    for wk in method_weaknesses(state):
        wk["points"] = -min(-w["weakness"], budget)
        budget += wk["points"]
        items.append(wk)
    unanswered = [x for x in state.answer.get("comparisons", []) if not x["measured"]]
    if unanswered:
        items.append(_item(f"{len(unanswered)} of {len(state.answer['comparisons'])} comparisons of the question are not "
                           "answered by this run's measurements: " + "; ".join(x["comparison"] for x in unanswered[:3]),
                           capped(len(unanswered), w, "unanswered"), sorted({u for x in unanswered for u in x["untested"]})[:4]))
    emp = c[c["status"].isin(EMPIRICAL + ("CONDITIONAL",))] if not c.empty else c
    unt = emp[emp["status"].isin(["UNTESTABLE", "CONDITIONAL"])] if len(emp) else emp
    if len(emp) and len(unt) / len(emp) > 0.5:
        items.append(_item(f"{len(unt)} of {len(emp)} empirical claims cannot be tested here "
                           f"({'; '.join(_untested_reasons(state))}); devices measured: "
                           f"{', '.join(state.bench_devices) or 'none'}", w["untestable_majority"], _ids(unt)))
    if not items:
        items.append(_item("no objection found", 0, []))
    return max(0.0, 10 + sum(i["points"] for i in items)), [{k: v for k, v in i.items() if k != "bears"} for i in items]


def validator(state: RoundState) -> tuple[float, list[dict]]:
    """What verifies the answer: reproduced claims, answered comparisons, independent papers, corroboration."""
    c, w, items = state.checks, state.weights, []
    rep, notes = verified(state)
    if len(rep):
        items.append(_item(f"{len(rep)} claims reproduced by this run's measurement within {c['tolerance'].iloc[0]:.0%}",
                           capped(len(rep), w, "reproduced"), _ids(rep) + _bench_refs(rep)))
    if notes:
        items.append(_item(f"{len(notes)} reproductions that do not count: {'; '.join(notes[:4])}", 0,
                           [f"claim:{n.split(':')[0]}" for n in notes[:6]]))
    answered = [x for x in state.answer.get("comparisons", []) if x["measured"]
                and (x.get("origin", "run") == "run" or state.reference_decides)]
    if answered:
        items.append(_item(f"{len(answered)} comparisons of the question answered by measurement: "
                           + "; ".join(x["comparison"] for x in answered[:3]), capped(len(answered), w, "answered"),
                           [f"bench:{k}" for x in answered for k in x["measured"][:2]][:6]))
    papers = sorted(rep["paper_id"].dropna().unique()) if len(rep) else []
    if len(papers) > 1:
        items.append(_item(f"{len(papers)} independent papers have claims reproduced", capped(len(papers) - 1, w, "sources"),
                           [f"paper:{p}" for p in papers[:6]]))
    emp = c[c["status"].isin(EMPIRICAL + ("CONDITIONAL",))] if not c.empty else c
    empirical_ids = set(emp["claim_id"]) if len(emp) else set()
    corr = [x for x in state.corroboration if x["independent"] and x["claim_id"] in empirical_ids]
    if corr:
        items.append(_item(f"{len(corr)} claims corroborated by another fetched paper", capped(len(corr), w, "corroborated"),
                           [f"claim:{x['claim_id']}~paper:{x['paper_id']}" for x in corr[:6]]))
    if len(emp):
        tested = emp["status"].isin(["REPRODUCED", "NOT_REPRODUCED"]).sum()
        items.append(_item(f"{tested} of {len(emp)} empirical claims tested against measurements",
                           w["tested_share"] * tested / len(emp), [f"devices:{','.join(state.bench_devices) or 'none'}"]))
    if not items:
        items.append(_item("no supporting evidence found", 0, []))
    return min(10.0, sum(i["points"] for i in items)), items


def synthesizer(state: RoundState, skeptic_score: float, validator_score: float) -> tuple[float, list[dict]]:
    """Weigh SKEPTIC against VALIDATOR by the rubric and cap under drift or contradiction (the decision: decide())."""
    w = state.weights
    power = w["skeptic_power"]
    score = validator_score * (skeptic_score / 10) ** power
    items = [_item(f"support that survives the objections: VALIDATOR {validator_score:.2f} x (SKEPTIC "
                   f"{skeptic_score:.2f} / 10)^{power:g} = {score:.2f}", score, ["role:VALIDATOR", "role:SKEPTIC"])]
    if state.drift["drift"] and score > w["drift_cap"]:
        items.append(_item(f"capped at {w['drift_cap']:g}: topic drift", w["drift_cap"] - score, ["role:SKEPTIC"]))
        score = w["drift_cap"]
    contra = int(state.checks["contradicted"].astype(bool).sum()) if not state.checks.empty else 0
    if contra and score > w["contradiction_cap"]:
        items.append(_item(f"capped at {w['contradiction_cap']:g}: {contra} claims contradicted by measurement",
                           w["contradiction_cap"] - score, ["role:SKEPTIC"]))
        score = w["contradiction_cap"]
    return round(max(0.0, min(10.0, score)), 3), items


def decide(state: RoundState, score: float, accept_score: float, min_verified: int, revision_below: float,
           revision_follows: bool) -> tuple[str, list[str]]:
    """The SYNTHESIZER's decision and its reasons, citing what SKEPTIC refuted and what VALIDATOR verified."""
    c = state.checks
    rep, notes = verified(state)
    n = len(rep)
    if revision_follows:
        return "REVISE", [f"score {score:.2f} < {revision_below}: revision round gathers more evidence"]
    contra = c.loc[c["contradicted"].astype(bool), "claim_id"].tolist() if not c.empty else []
    implaus = c[(c["plausibility"] == "implausible") & (c["status"] != "REPRODUCED")] if not c.empty else c
    reasons = []
    if state.drift["drift"]:
        reasons.append("topic drift: " + "; ".join(state.drift["reasons"]))
    if contra:
        reasons.append(f"claims contradicted by measurement: {', '.join(contra)}")
    if len(implaus):
        reasons.append("physically implausible: " + "; ".join(f"{r.claim_id} ({r.plausibility_reason})"
                                                             for r in implaus.head(3).itertuples()))
    if reasons:
        return "REJECT", reasons + ([f"VALIDATOR: {n} claims reproduced"] if n else [])
    open_pairs = [p for p in conflicts(state) if not _settled(p, c)]
    if open_pairs:
        devs = sorted({str(x).upper() for p in open_pairs for x in (_check_rows(state)[p["a"]].get("subject_device"),)
                       if isinstance(x, str)})
        return "ESCALATE_TO_OWNER", [f"papers disagree and no measurement here settles it: "
                                     + "; ".join(f"{p['a']} vs {p['b']}" for p in open_pairs[:3])
                                     + (f"; a run on {', '.join(devs)} would" if devs else "")]
    if score >= accept_score and n >= min_verified:
        material = [wk["item"] for wk in method_weaknesses(state)
                    if any(wk["bears"](_check_rows(state).get(cid, {})) for cid in rep["claim_id"])]
        if material:
            return "REVISE", [f"VALIDATOR: {n} claims reproduced (score {score:.2f})",
                              "SKEPTIC: " + "; ".join(material) + " bears on the reproduced claims"]
        return "ACCEPT", [f"score {score:.2f} >= {accept_score}, {n} verified claims >= {min_verified}, no topic drift, "
                          "nothing contradicted (SKEPTIC found no refutation)"]
    if score < accept_score:
        reasons.append(f"score {score:.2f} < {accept_score}")
    if n < min_verified:
        reasons.append(f"{n} verified claims < {min_verified} needed" + (f" ({'; '.join(notes[:3])})" if notes else ""))
    untested = _untested_reasons(state) + sorted({u for x in state.answer.get("comparisons", []) for u in x["untested"]
                                                   if not x["measured"]})[:3]
    if untested:
        reasons.append("would be tested by: " + "; ".join(untested[:5]))
    return "ESCALATE_TO_OWNER", reasons


def render(items: list[dict]) -> str:
    """Itemised rationale as text lines: '- item (+1.2) [evidence]'."""
    return "\n".join(f"- {i['item']} ({i['points']:+.2f})" + (f" [{', '.join(i['evidence'])}]" if i["evidence"] else "")
                     for i in items)
