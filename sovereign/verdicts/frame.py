"""The question frame: what a study's question is about, and which claims are evidence for it.

A question is parsed, with the claims' own vocabularies (config/vocab.yaml), into a subject
(method, model, device, backend, precision), a baseline, the metrics it asks about, the
dimensions it sweeps (batch size, phase, precision) and the datasets it names. A claim is on the
frame when its structured fields overlap it: the same method family, or the same device/model,
and a metric the question asks about. Similarity scores never decide; they only order the
on-frame claims. Claims off the frame are listed with the reason and go no further.
"""
from __future__ import annotations

import logging
import re

import pandas as pd

from ..claims.vocab import FIELD, Vocab, load_vocab
from ..io import read_table, write_json, write_parquet
from .match import clean

log = logging.getLogger(__name__)

SUBJECT_FIELDS = ("method", "model", "device", "backend", "precision")
# where a question turns from its subject to its baseline
COMPARE = re.compile(r"\b(?:compared?\s+(?:to|with|against)|comparisons?\s+(?:to|with)|versus|vs\.?|against|"
                     r"relative\s+to|than|over)\s", re.I)
SWEPT = {"batch size": re.compile(r"\bbatch(?:es|[\s-]?sizes?)?\b", re.I),
         "phase": re.compile(r"\b(?:phases?|prefill|decode|decoding)\b", re.I),
         "precision": re.compile(r"\bprecisions\b|\bacross (?:fp|int|bf)\w*", re.I),
         "sequence length": re.compile(r"\b(?:sequence|context|prompt) lengths?\b", re.I),
         "threads": re.compile(r"\bthreads?\b|\bcores?\b", re.I)}
# a metric's family: the question asks "latency", a claim says "p99 latency"; an efficiency-peak claim is
# tested by the throughput knee over batch sizes, so it answers a throughput question
METRIC_FAMILY = {"latency_p50": "latency", "latency_p90": "latency", "latency_p99": "latency", "speedup": "throughput",
                 "efficiency": "throughput", "token_throughput": "throughput"}  # tokens/s answers a throughput question
# expert activations are what a routing rule changes and what its latency follows from, so a claim about them
# bears on a latency or throughput question about routing (and on nothing else)
BEARS_ON = {"expert_activations": {"latency", "throughput"}}
GENERIC_DEVICES = {"cpu", "gpu"}
# a reader counts lower latency as faster: speed words cover both unless the question names one of them
SPEED = re.compile(r"\b(?:faster|fast|speed(?:s|-?ups?)?|speed(?:s|ing)? up|quicker|slower|accelerat\w*)\b", re.I)
SPEED_METRICS = ["throughput", "latency"]
GENERATION = re.compile(r"\b(?:tokens?|generation|generative|llms?|language models?|decod\w*|prefill)\b", re.I)
GENERATION_METRICS = ["ttft", "tpot"]
# "..., and how does X compare with Y": each clause asks its own comparison
CLAUSE = re.compile(r",?\s+and\s+(?=(?:how|what|which|whether|does|do|is|are|can)\b)", re.I)
BATCH = re.compile(r"\bbatch(?:[\s-]?sizes?)?(?:\s+of)?\s+(\d+(?:\s*(?:,|and|or|to)\s*\d+)*)|\b(single[\s-]stream|batch-1)\b",
                   re.I)
PHASES = re.compile(r"\b(prefill|decode)\b", re.I)
QUALIFIERS = {"server", "edge", "desktop", "mobile", "datacenter", "data-center", "eager", "consumer", "embedded",
              "laptop", "cloud"}
SMALL = {"how", "what", "which", "does", "is", "are", "on", "with", "for", "the", "a", "an", "of", "in", "at", "and", "or", "to", "than", "vs", "versus", "is", "are"}


def _family(metric: str | None) -> str | None:
    return METRIC_FAMILY.get(metric, metric) if metric else None


def _add(d: dict, key: str, value: str) -> None:
    if value not in d.setdefault(key, []):
        d[key].append(value)


def build_frame(study: str, question: str, vocab: Vocab | None = None) -> dict:
    """Parse a question into subject, baseline, metrics, swept dimensions and datasets."""
    vocab = vocab or load_vocab()
    cut = COMPARE.search(question)
    subject, baseline = {}, {}
    for m in vocab.mentions(question):
        if m.category == "batch":
            continue
        target = baseline if cut and m.start >= cut.start() else subject
        _add(target, FIELD[m.category], m.name)
    for name in subject.get("method", []):  # "AnyExperts compared with ..." is against its implied baseline
        implied = vocab.implied_baseline("methods", name)
        if implied and not baseline.get("method"):
            _add(baseline, "method", implied)
    metrics = _metrics(question, vocab)
    swept = [name for name, pat in SWEPT.items() if pat.search(question)]
    datasets = []
    for m in vocab.dataset_mentions(question):
        if m.name not in datasets:
            datasets.append(m.name)
    families = sorted({vocab.family(x) for x in subject.get("method", []) + baseline.get("method", [])})
    return {"study": study, "question": question, "subject": subject, "baseline": baseline, "metrics": metrics,
            "swept": swept, "datasets": datasets, "method_families": families,
            "comparisons": _comparisons(question, vocab), "scope": _scope(question, vocab),
            "phrases": _phrases(question, vocab)}


def _named(text: str, vocab: Vocab) -> list:
    """Subject-field mentions (no batch words)."""
    return [m for m in vocab.mentions(text) if m.category != "batch" and m.category in FIELD]


def _metrics(question: str, vocab: Vocab) -> list[str]:
    """Metric families the question asks about; speed words mean throughput and latency (and, for generation,
    time to first token and per output token) unless the question names one of them itself."""
    spans = [(m.start, m.end) for m in _named(question, vocab)]
    named, speed_word = [], bool(SPEED.search(question))  # a metric word inside a named thing ('ONNX Runtime') is none
    for m in vocab.metric_mentions(question):
        if any(a <= m.start < b for a, b in spans):
            continue
        if m.name == "speedup":
            speed_word = True
            continue
        fam = _family(m.name)
        if fam not in named:
            named.append(fam)
    if not speed_word:
        return named
    speed = SPEED_METRICS + (GENERATION_METRICS if GENERATION.search(question) else [])
    stated = [m for m in named if m in speed]
    return stated + [m for m in named if m not in speed and m != "speedup"] if stated else speed + [
        m for m in named if m not in speed and m != "speedup"]


def _comparisons(question: str, vocab: Vocab) -> list[dict]:
    """One entry per comparison the question asks: per clause, a field both sides name (subject vs baseline),
    with the clause's other named fields as its context (they hold on both sides)."""
    out = []
    for clause in CLAUSE.split(question):
        cut = COMPARE.search(clause)
        sides: tuple[dict, dict] = ({}, {})
        for m in _named(clause, vocab):
            _add(sides[1 if cut and m.start >= cut.start() else 0], FIELD[m.category], m.name)
        subj, base = sides
        compared = [f for f in SUBJECT_FIELDS if subj.get(f) and base.get(f) and f != "method"]
        for f in compared:
            context = {g: sorted(set(subj.get(g, []) + base.get(g, []))) for g in SUBJECT_FIELDS
                       if g != f and (subj.get(g) or base.get(g))}
            out += [{"field": f, "subject": a, "baseline": b, "context": context}
                    for a in subj[f] for b in base[f] if a != b]
    return out


def _scope(question: str, vocab: Vocab) -> dict:
    """What the question names and so restricts its answer to: models, devices, precisions, backends,
    batch sizes and phases (an empty list: the question names none, so all of them)."""
    scope = {f: [] for f in ("model", "device", "precision", "backend")}
    for m in _named(question, vocab):
        if FIELD[m.category] in scope and m.name not in scope[FIELD[m.category]]:
            scope[FIELD[m.category]].append(m.name)
    batches = []
    for m in BATCH.finditer(question):
        batches += [1] if m.group(2) else [int(x) for x in re.findall(r"\d+", m.group(1))]
    scope["batch_size"] = sorted(set(batches))
    scope["phase"] = sorted({p.lower() for p in PHASES.findall(question)})
    return scope


def _phrases(question: str, vocab: Vocab) -> dict:
    """The question's own words for each value it names ('cpu' -> 'x86 server CPUs'), for reasons a reader follows."""
    out = {}
    named = _named(question, vocab)
    for m in named:
        floor = max([x.end for x in named if x.end <= m.start], default=0)
        words = question[floor:m.start].split()
        lead = []
        for w in reversed(words[-3:]):  # qualifiers right before the name: 'x86 server' CPUs
            bare = w.strip(",;")
            if not (bare.lower() in QUALIFIERS or any(ch.isdigit() for ch in bare) or bare[:1].isupper()) \
                    or bare.lower() in SMALL or bare != w:
                break
            lead.insert(0, w)
        out.setdefault(m.name, " ".join(lead + [question[m.start:m.end]]))
    return out


def frame_rows(frame: dict) -> list[dict]:
    """The `study_frames` rows: study, element, value (plus the field a subject/baseline value fills)."""
    rows = []
    for element in ("subject", "baseline"):
        for f in SUBJECT_FIELDS:
            rows += [{"study": frame["study"], "element": element, "field": f, "value": v}
                     for v in frame[element].get(f, [])]
    for element, key in (("metric", "metrics"), ("swept dimension", "swept"), ("dataset", "datasets")):
        rows += [{"study": frame["study"], "element": element, "field": None, "value": v} for v in frame[key]]
    return rows


def _claim_values(claim: dict, f: str) -> set[str]:
    return {v for v in (clean(claim.get(f"subject_{f}")), clean(claim.get(f"baseline_{f}"))) if v}


def _device_overlap(claim_devs: set[str], frame_devs: set[str], is_cpu) -> set[str]:
    hits = claim_devs & frame_devs
    if "cpu" in frame_devs:  # a question about "a CPU" takes any CPU a claim names
        hits |= {d for d in claim_devs if is_cpu(d)}
    return hits


def _dev(d: str) -> str:
    return d.upper() if len(d) <= 4 and (any(ch.isdigit() for ch in d) or d in GENERIC_DEVICES) else d


def _describe(claim: dict) -> str:
    """'resnet18 on L4 vs T4', 'int8 vs CPU', 'anyexperts vs fixed top-k': what a claim is about, by its fields."""
    def one(prefix: str) -> str:
        parts = [v for f in ("method", "model", "precision", "backend") if (v := clean(claim.get(f"{prefix}_{f}")))]
        dev = clean(claim.get(f"{prefix}_device"))
        if dev and not parts and prefix == "subject" and clean(claim.get("metric")):
            parts = [clean(claim.get("metric"))]  # "throughput on L4", not a bare device
        return " ".join(parts) + (f" on {_dev(dev)}" if dev and parts else _dev(dev) if dev else "")
    subj, base = one("subject"), one("baseline")
    text = f"{subj} vs {base}" if subj and base else subj or (f"a comparison with {base}" if base else "")
    return text or (clean(claim.get("metric")) or "no named subject")


def _question_about(frame: dict) -> str:
    s, b = frame["subject"], frame["baseline"]
    if frame["method_families"]:
        return frame["method_families"][0]
    subj = " ".join(v for f in SUBJECT_FIELDS for v in s.get(f, []))
    base = " ".join(v for f in SUBJECT_FIELDS for v in b.get(f, []))
    return (subj.upper() if len(subj) <= 4 else subj) + (f" vs {base.upper() if len(base) <= 4 else base}" if base else "")


def _wanted(frame: dict, f: str) -> str:
    """The question's own words for the values of one field ('x86 server CPUs')."""
    vals = list(dict.fromkeys(frame["subject"].get(f, []) + frame["baseline"].get(f, [])))
    return ", ".join(frame.get("phrases", {}).get(v) or _dev(v) for v in vals)


def _subject_reason(claim: dict, frame: dict, vocab: Vocab, conflict: list[str], families: set) -> str:
    """Why a claim is off the frame, naming the field that failed and what the question asks for instead."""
    about = f" (it is about {_describe(claim)})"
    if frame["method_families"]:
        fam = frame["method_families"][0]
        have = sorted(m for m in _claim_values(claim, "method"))
        if have:
            return f"the claim's method is {', '.join(have)}, not {fam}{about}; the question asks about {fam}"
        return f"the claim names no {fam} method{about}; the question asks about {fam}"
    if conflict:
        f = conflict[0]
        have = ", ".join(_dev(v) for v in sorted(_claim_values(claim, f)))
        return f"the claim's {f} is {have}{about}; the question asks about {_wanted(frame, f)}"
    asked = [f for f in ("device", "model") if frame["subject"].get(f) or frame["baseline"].get(f)]
    missing = " or ".join(asked) or "subject"
    want = "; ".join(_wanted(frame, f) for f in asked) or _question_about(frame)
    return f"the claim names no {missing}{about}; the question asks about {want}"


def place_claim(claim: dict, frame: dict, vocab: Vocab, is_cpu=lambda d: False) -> tuple[bool, str, list[str]]:
    """(on frame, reason, frame elements the claim's fields matched) for one claim."""
    matched = []
    families = {vocab.family(m) for m in _claim_values(claim, "method")}
    fam_hit = families & set(frame["method_families"])
    matched += [f"method family: {f}" for f in sorted(fam_hit)]
    pair_hit, conflict = [], []
    for f in ("device", "model"):
        wanted = set(frame["subject"].get(f, []) + frame["baseline"].get(f, []))
        have = _claim_values(claim, f)
        if not wanted or not have:
            continue
        hits = _device_overlap(have, wanted, is_cpu) if f == "device" else have & wanted
        (pair_hit if hits else conflict).append(f)
        matched += [f"{f}: {h}" for h in sorted(hits)]
    subject_named = bool(frame["method_families"] or any(frame[e].get(f) for e in ("subject", "baseline")
                                                          for f in ("device", "model")))
    subject_ok = bool(fam_hit) or (bool(pair_hit) and not conflict) or not subject_named
    if not subject_ok:
        return False, _subject_reason(claim, frame, vocab, conflict, families), matched
    metric = clean(claim.get("metric"))
    if metric and frame["metrics"]:
        fam = _family(metric)
        if fam not in frame["metrics"] and not (BEARS_ON.get(metric, set()) & set(frame["metrics"]) and fam_hit):
            return False, (f"the claim's metric is {metric} (it is about {_describe(claim)}); the question asks about "
                           f"{', '.join(frame['metrics'])}"), matched
        matched.append(f"metric: {fam if fam in frame['metrics'] else metric + ' (bears on ' + ', '.join(frame['metrics']) + ')'}")
    return True, "on frame: " + "; ".join(matched or ["the question names no subject"]), matched


def place_claims(claims: pd.DataFrame, frame: dict, vocab: Vocab, papers: pd.DataFrame | None = None,
                 is_cpu=lambda d: False) -> pd.DataFrame:
    """Every claim with `on_frame`, `frame_reason`, `frame_matched`; on-frame ones first, by paper relevance."""
    if claims.empty:
        return claims.assign(on_frame=pd.Series(dtype=bool), frame_reason=pd.Series(dtype=object),
                             frame_matched=pd.Series(dtype=object))
    rows = []
    for c in claims.to_dict("records"):
        on, reason, matched = place_claim(c, frame, vocab, is_cpu)
        rows.append({**c, "on_frame": on, "frame_reason": reason, "frame_matched": "; ".join(matched)})
    df = pd.DataFrame(rows)
    # a not-empirical sentence of a paper that has on-frame claims stays with its paper (it is checked as such)
    on_papers = set(df.loc[df["on_frame"] & df["kind"].map(clean).ne("not_empirical"), "paper_id"])
    ctx = df["kind"].map(clean).eq("not_empirical") & df["paper_id"].isin(on_papers)
    df.loc[ctx, "on_frame"] = True
    df.loc[ctx, "frame_reason"] = "on frame: not empirical, from a paper with on-frame claims"
    rank = {}
    if papers is not None and not papers.empty:
        score = papers.get("relevance_embedding", pd.Series(dtype=float)).fillna(papers.get("relevance_tfidf"))
        rank = dict(zip(papers["paper_id"], score.fillna(0)))
    df["_rank"] = df["paper_id"].map(rank).fillna(0)
    return df.sort_values(["on_frame", "_rank"], ascending=[False, False], kind="stable").drop(columns="_rank")


def _covered(frame: dict, on: pd.DataFrame, texts: dict[str, str], vocab: Vocab) -> list[dict]:
    """One row per frame element: covered by which on-frame claims (structured fields, or their paper's text)."""
    out = []
    text_of = {pid: (texts.get(pid) or "") for pid in on["paper_id"].unique()} if len(on) else {}
    sentences = " ".join(on["sentence"].dropna().astype(str)) if len(on) else ""
    for element in ("subject", "baseline"):
        for f in SUBJECT_FIELDS:
            for v in frame[element].get(f, []):
                if f == "method":
                    ids = [c["claim_id"] for c in on.to_dict("records")
                           if vocab.family(v) in {vocab.family(m) for m in _claim_values(c, "method")}]
                else:
                    ids = [c["claim_id"] for c in on.to_dict("records") if v in _claim_values(c, f)]
                out.append({"element": element, "field": f, "value": v, "covered": bool(ids), "by": ids[:8]})
    for m in frame["metrics"]:
        ids = [c["claim_id"] for c in on.to_dict("records") if _family(clean(c.get("metric"))) == m
               or m in BEARS_ON.get(clean(c.get("metric")), set())]
        out.append({"element": "metric", "field": None, "value": m, "covered": bool(ids), "by": ids[:8]})
    for s in frame["swept"]:
        pat = SWEPT[s]
        pids = [pid for pid, t in text_of.items() if pat.search(t)] + (["claims"] if pat.search(sentences) else [])
        out.append({"element": "swept dimension", "field": None, "value": s, "covered": bool(pids), "by": pids[:8]})
    for d in frame["datasets"]:
        pids = [pid for pid, t in text_of.items() if any(m.name == d for m in vocab.dataset_mentions(t))]
        out.append({"element": "dataset", "field": None, "value": d, "covered": bool(pids), "by": pids[:8]})
    return out


def kept_paper_drift(frame: dict, kept_texts: dict[str, str], vocab: Vocab) -> list[str]:
    """Without any empirical claim, the kept papers' own words: drift when none names the question's subject."""
    if not kept_texts:
        return ["no kept evidence at all"]
    wanted = {(f, v) for e in ("subject", "baseline") for f in SUBJECT_FIELDS for v in frame[e].get(f, [])}
    if not wanted:
        return []
    named = set()
    for text in kept_texts.values():
        for m in vocab.mentions(text or ""):
            if m.category in FIELD:
                named.add((FIELD[m.category], m.name))
                if m.category == "methods":
                    named.add(("family", vocab.family(m.name)))
    if any(w in named for w in wanted) or any(("family", f) in named for f in frame["method_families"]):
        return []
    return [f"no kept paper names the question's subject or baseline ({', '.join(v for _, v in sorted(wanted))}); "
            f"kept: {', '.join(sorted(kept_texts))}"]


def frame_drift(frame: dict, coverage: list[dict], n_on: int, min_share: float, n_claims: int = 1,
                no_claim_reasons: list[str] | None = None) -> dict:
    """Study-level drift: the share of frame elements the on-frame evidence covers, and the subject covered.
    With no empirical claim at all, drift only when the kept papers themselves are about something else
    (`no_claim_reasons`, from kept_paper_drift); otherwise the study just has no evidence yet."""
    reasons = []
    if n_claims == 0:
        return {"drift": bool(no_claim_reasons), "reasons": list(no_claim_reasons or []), "coverage_share": 0.0,
                "elements": coverage, "method": "question frame (kept papers' text: no empirical claims)"}
    subject = [c for c in coverage if c["element"] == "subject"]
    share = sum(c["covered"] for c in coverage) / len(coverage) if coverage else 1.0
    if n_on == 0:
        reasons.append("no claim of the kept papers is about the question's subject, baseline and metrics")
    elif subject and not any(c["covered"] for c in subject):
        reasons.append("no on-frame claim is about the subject: " + ", ".join(f"{c['field']} {c['value']}" for c in subject))
    if coverage and share < min_share:
        missing = [f"{c['element']} {c['value']}" for c in coverage if not c["covered"]]
        reasons.append(f"frame elements not covered by on-frame evidence: {', '.join(missing)} "
                       f"({sum(c['covered'] for c in coverage)} of {len(coverage)} covered)")
    return {"drift": bool(reasons), "reasons": reasons, "coverage_share": round(share, 3), "elements": coverage,
            "method": "question frame"}


def frame_study(study: str, question: str, claims_path: str, papers_path: str, out_frame: str, out_claims: str,
                out_rows: str, vocab_path: str = "", fulltext_path: str | None = None, min_share: float = 0.5,
                devices_file: str = "") -> dict:
    """Stage entry: the study's frame, its on-frame claims (a claims file) and `study_frames` rows."""
    from .evidence import paper_texts
    from .hardware import load_hardware

    vocab = load_vocab(vocab_path or None)
    frame = build_frame(study, question, vocab)
    claims, papers = read_table(claims_path), read_table(papers_path)
    fulltext = read_table(fulltext_path) if fulltext_path else None
    hw = load_hardware(devices_file or None)
    placed = place_claims(claims, frame, vocab, papers, hw.is_cpu)
    on = placed[placed["on_frame"]] if len(placed) else placed
    texts = paper_texts(papers, fulltext, kept_only=False) if not papers.empty else {}
    coverage = _covered(frame, on, texts, vocab)
    empirical_on = int((on["kind"].map(clean) != "not_empirical").sum()) if len(on) else 0
    n_claims = int((placed["kind"].map(clean) != "not_empirical").sum()) if len(placed) else 0
    kept = paper_texts(papers, fulltext, kept_only=True) if not papers.empty else {}
    drift = frame_drift(frame, coverage, empirical_on, min_share, n_claims,
                        kept_paper_drift(frame, kept, vocab) if n_claims == 0 else None)
    off = placed[~placed["on_frame"]] if len(placed) else placed
    result = {**frame, "on_frame": [{"claim_id": r["claim_id"], "paper_id": r["paper_id"], "reason": r["frame_reason"]}
                                    for r in on.to_dict("records")],
              "off_frame": [{"claim_id": r["claim_id"], "paper_id": r["paper_id"], "reason": r["frame_reason"]}
                            for r in off.to_dict("records")], "drift": drift}
    write_parquet(out_claims, on.drop(columns=["on_frame"]).reset_index(drop=True) if len(on) else
                  claims.iloc[0:0])
    write_parquet(out_rows, pd.DataFrame(frame_rows(frame), columns=["study", "element", "field", "value"]))
    write_json(out_frame, result)
    log.info("%s: frame %s; %d claims on frame, %d off (%s)", study, {k: frame[k] for k in ("subject", "baseline",
             "metrics")}, len(on), len(off), "; ".join(sorted({r["reason"] for r in result["off_frame"]}))[:300])
    return result
