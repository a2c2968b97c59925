"""tribunal: SKEPTIC, VALIDATOR and SYNTHESIZER judge a study; a revision round gathers more evidence when
the score is low; a policy turns the score into ACCEPT / REVISE / REJECT / ESCALATE_TO_OWNER."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from ..io import read_json, read_table, write_json, write_parquet
from .check import Bench, check_frame, read_bench
from .drift import check_drift
from .evidence import paper_texts, reground
from .hardware import load_hardware
from .llm import ask_or_note
from .answer import answer_rows, build_answer
from .rubric import WEIGHTS
from .roles import RoundState, decide, render, skeptic, synthesizer, validator, verified
from .settings import CheckConfig, TribunalConfig

log = logging.getLogger(__name__)


def _evidence_text(texts: dict, claims: pd.DataFrame) -> str:
    sents = claims.loc[claims["paper_id"].isin(texts), "sentence"].dropna().tolist() if not claims.empty else []
    return " ".join(list(texts.values()) + sents)


def _judge(state: RoundState, cfg: TribunalConfig, revision_possible: bool) -> dict:
    s_score, s_items = skeptic(state)
    v_score, v_items = validator(state)
    y_score, y_items = synthesizer(state, s_score, v_score)
    checks = state.checks
    n_verified = len(verified(state)[0])
    contradicted = checks.loc[checks["contradicted"].astype(bool), "claim_id"].tolist() if not checks.empty else []
    follows = revision_possible and y_score < cfg.revision_below
    decision, reasons = decide(state, y_score, cfg.accept_score, cfg.min_verified, cfg.revision_below, follows)
    y_items = y_items + [{"item": f"decision {decision}: " + "; ".join(reasons), "points": 0,
                          "evidence": ["role:SKEPTIC", "role:VALIDATOR"]}]
    summary = {"study": state.study, "round": state.round, "question": state.question,
               "claims": checks[["claim_id", "status", "claimed_value", "measured_value", "plausibility", "reason"]]
               .head(40).to_dict("records") if not checks.empty else [], "drift": state.drift}
    reviews = []
    for role, score, items in (("SKEPTIC", s_score, s_items), ("VALIDATOR", v_score, v_items),
                               ("SYNTHESIZER", y_score, y_items)):
        llm = ask_or_note(cfg.llm, role, {**summary, "deterministic_items": items, "deterministic_score": score})
        reviews.append({"study": state.study, "round": state.round, "role": role, "score": round(score, 3),
                        "rationale": render(items), "items": json.dumps(items, ensure_ascii=False),
                        "deterministic": True, **llm})
    return {"reviews": reviews, "score": y_score, "verified": n_verified, "decision": decision, "reasons": reasons,
            "contradicted": contradicted}


def _changes(before: pd.DataFrame, after: pd.DataFrame) -> list[dict]:
    b = before.set_index("claim_id")
    out = []
    for r in after.to_dict("records"):
        old = b.loc[r["claim_id"]] if r["claim_id"] in b.index else None
        if old is None or old["status"] != r["status"] or str(old["measured_value"]) != str(r["measured_value"]):
            out.append({"claim_id": r["claim_id"], "from": None if old is None else old["status"], "to": r["status"],
                        "measured_before": None if old is None or pd.isna(old["measured_value"]) else float(old["measured_value"]),
                        "measured_after": None if pd.isna(r["measured_value"]) else float(r["measured_value"]),
                        "reason": r["reason"]})
    return out


def _requery_papers(study: str, question: str, path: str | None, papers: pd.DataFrame, embed_cfg: dict,
                    keep_threshold: float) -> pd.DataFrame:
    """Papers the refined queries found that screening never saw, scored against the question; `kept` at
    `keep_threshold` (embedding cosine when embeddings are on, else TF-IDF)."""
    from ..literature.screen import merge_results, score_papers

    if not path or not Path(path).exists():
        return pd.DataFrame()
    found = merge_results(study, [path])
    found = found[~found["paper_id"].isin(set(papers["paper_id"]) if not papers.empty else set())].reset_index(drop=True)
    if found.empty:
        return found
    tfidf, emb = score_papers(question, found, embed_cfg)
    found["relevance_tfidf"], found["relevance_embedding"] = tfidf, emb
    score = emb if emb is not None else tfidf
    found["kept"] = score >= keep_threshold
    found["drift"] = False
    found["source"] = "requery"
    return found


def _requery_summary(path: str | None, found: pd.DataFrame) -> dict | None:
    """The refined queries (from queries.json beside the records) and what they brought in."""
    if not path:
        return None
    queries_file = Path(path).with_name("queries.json")
    summary = read_json(queries_file) if queries_file.exists() else {}
    kept = found[found["kept"]] if len(found) else found
    return {"queries": [{k: q.get(k) for k in ("text", "origin", "records", "new_papers")} for q in summary.get("queries", [])],
            "papers_not_seen_before": int(len(found)),
            "papers_kept": [{"paper_id": r["paper_id"], "title": r["title"],
                             "relevance_tfidf": round(float(r["relevance_tfidf"]), 4)} for r in kept.to_dict("records")]}


def run_tribunal(study: str, question: str, screening_path: str, papers_path: str, claims_path: str,
                 checks_path: str, bench_paths: list[str], suites: list[str], out_json: str, out_reviews: str,
                 out_verdicts: str, out_checks: str, support_path: str | None = None, fulltext_path: str | None = None,
                 verdicts_cfg: dict | None = None, tribunal_cfg: dict | None = None, embed_cfg: dict | None = None,
                 keep_threshold: float = 0.45, reference_paths: list[str] | None = None,
                 requery_path: str | None = None, claims_cfg: dict | None = None, frame_path: str | None = None,
                 out_answer: str | None = None, out_answers: str | None = None, weights: dict | None = None) -> dict:
    """Stage entry: judge one study (with a revision round when the score is low) and write its verdict.

    The drift is the question frame's (`frame_path`, written by frame_study) when given. The answer
    (`out_answer`, `out_answers`) is built from the final round's checks and rows, and the tribunal judges it.
    Round 1 sees the study's suites; the revision round sees every benchmark row of every suite and device;
    both see the reference rows of `reference_paths` (read_reference_results' output: files measured elsewhere,
    labelled with their date, deciding claims only with verdicts.reference_decides); and the papers
    that requery_arxiv's refined queries found (`requery_path`, its records) that score at `keep_threshold`."""
    cfg, ccfg = TribunalConfig.from_dict(tribunal_cfg), CheckConfig.from_dict(verdicts_cfg)
    screening, papers = read_json(screening_path), read_table(papers_path)
    claims, checks1 = read_table(claims_path), read_table(checks_path)
    support = read_table(support_path) if support_path else None
    fulltext = read_table(fulltext_path) if fulltext_path and Path(fulltext_path).exists() else None
    refs = list(reference_paths or [])
    bench1 = Bench(read_bench(list(bench_paths) + refs, suites), load_hardware(ccfg.devices_file), ccfg.reference_decides)
    kept1 = paper_texts(papers, fulltext, kept_only=True)
    frame = read_json(frame_path) if frame_path else None
    if frame is not None:  # evidence is what the frame kept: the on-frame claims' papers
        on_papers = set(claims["paper_id"]) if not claims.empty else set()
        kept1 = {pid: t for pid, t in paper_texts(papers, fulltext, kept_only=False).items() if pid in on_papers}
    raw_v = dict(verdicts_cfg or {})
    flags = {"count_class_matches": bool(raw_v.get("count_class_matches", False)),
             "reference_decides": bool(raw_v.get("reference_decides", False)),
             "weights": {**WEIGHTS, **(weights or {})}}  # `weights`: the calibration tests perturb the rubric

    def drift_of(kept):
        return frame["drift"] if frame is not None else check_drift(question, screening, _evidence_text(kept, claims),
                                                                    cfg.drift_min_term_share)

    # the answer states what this run measured: every suite's rows of this run, never the committed result files
    # the revision round adds for the checks (rows from a listed reference file stay, labelled `reference`)
    run_bench = Bench(read_bench(bench_paths, None), bench1.hw)

    def answer_of(checks, _bench):
        return build_answer(frame, checks, run_bench, claims) if frame is not None else {}

    drift1 = drift_of(kept1)
    state1 = RoundState(study, 1, question, drift1, checks1, claims, kept1, bench1.devices,
                        sorted(set(bench1.df["suite"].dropna())), answer=answer_of(checks1, bench1), bench=bench1.df,
                        **flags)
    rounds = [(state1, _judge(state1, cfg, revision_possible=True))]
    final_checks, revision = checks1.copy(), None
    if rounds[0][1]["decision"] == "REVISE":
        bench2 = Bench(read_bench(list(bench_paths) + refs, None), bench1.hw, ccfg.reference_decides)
        found = _requery_papers(study, question, requery_path, papers, embed_cfg or {"backend": "none"}, keep_threshold)
        papers2 = pd.concat([papers, found], ignore_index=True) if len(found) else papers
        rg = reground(question, claims, papers2, fulltext, embed_cfg or {"backend": "none"},
                      cfg.corroboration_threshold, keep_threshold,
                      agree_tolerance=float((claims_cfg or {}).get("agree_tolerance", 0.15)),
                      vocab_path=(claims_cfg or {}).get("vocab_path") or None)
        recovered = [r["paper_id"] for r in rg["recovered_papers"]]
        kept_new = found.loc[found["kept"], "paper_id"].tolist() if len(found) else []
        kept2 = {**kept1, **{pid: t for pid, t in paper_texts(papers2, fulltext, kept_only=False).items()
                             if pid in recovered or pid in kept_new}}
        drift2 = drift_of(kept2)
        checks2 = check_frame(study, claims, support, bench2, ccfg, cfg.contradiction_factor, round_no=2)
        state2 = RoundState(study, 2, question, drift2, checks2, claims, kept2, bench2.devices,
                            sorted(set(bench2.df["suite"].dropna())), rg["corroboration"],
                            answer=answer_of(checks2, bench2), bench=bench2.df, **flags)
        rounds.append((state2, _judge(state2, cfg, revision_possible=False)))
        changes = _changes(checks1, checks2)
        revision = {"bench_rows_before": int(len(bench1.df)), "bench_rows_after": int(len(bench2.df)),
                    "devices_before": bench1.devices, "devices_after": bench2.devices,
                    "devices_added": sorted(set(bench2.devices) - set(bench1.devices)),
                    "reference_devices": bench2.reference_devices,
                    "suites_before": state1.bench_suites, "suites_after": state2.bench_suites,
                    "regrounding_method": rg["method"], "sentences_searched": rg["sentences"],
                    "papers_searched": rg["papers"], "papers_kept_before": sorted(kept1),
                    "papers_recovered": rg["recovered_papers"],
                    "corroborated_claims": [c for c in rg["corroboration"] if c["independent"]],
                    "requery": _requery_summary(requery_path, found),
                    "claim_changes": changes, "drift_before": drift1, "drift_after": drift2}
        final_checks = checks2.copy()
    first = checks1.set_index("claim_id")
    final_checks["status_round1"] = final_checks["claim_id"].map(first["status"]) if len(first) else None
    final_checks["measured_round1"] = final_checks["claim_id"].map(first["measured_value"]) if len(first) else None
    final_checks["changed"] = (final_checks["status_round1"] != final_checks["status"]) | (
        final_checks["measured_round1"].astype(str) != final_checks["measured_value"].astype(str))
    # one count of verified claims: the claims table, the views, the verdict and the report read this column
    rep, notes = verified(rounds[-1][0])
    final_checks["counts_as_verified"] = final_checks["claim_id"].isin(set(rep["claim_id"]) if len(rep) else set())
    why = {n.split(": ", 1)[0]: n.split(": ", 1)[1] for n in notes}
    final_checks["verified_note"] = final_checks["claim_id"].map(why)
    write_parquet(out_checks, final_checks)
    reviews = [r for _, j in rounds for r in j["reviews"]]
    write_parquet(out_reviews, pd.DataFrame(reviews))
    vrows = []
    for state, j in rounds:
        vrows.append({"study": study, "round": state.round, "score": round(j["score"], 3), "verified_claims": j["verified"],
                      "decision": j["decision"], "reasons": "; ".join(j["reasons"]), "drift": bool(state.drift["drift"]),
                      "contradicted_claims": ",".join(j["contradicted"]), "evidence_devices": ",".join(state.bench_devices),
                      "evidence_suites": ",".join(state.bench_suites), "evidence_papers": len(state.kept_texts),
                      "corroborated_claims": sum(c["independent"] for c in state.corroboration),
                      "evidence_changes": json.dumps(revision, default=str) if state.round == 2 else None})
    write_parquet(out_verdicts, pd.DataFrame(vrows))
    last = rounds[-1][1]
    answer = rounds[-1][0].answer
    if out_answer:
        write_json(out_answer, {**answer, "decision": last["decision"], "reasons": last["reasons"]})
    if out_answers:
        write_parquet(out_answers, answer_rows(answer) if answer else answer_rows({"study": study, "comparisons": []}))
    verdict = {"study": study, "question": question, "decision": last["decision"], "score": round(last["score"], 3),
               "round": len(rounds), "verified_claims": last["verified"], "reasons": last["reasons"],
               "rounds": [{"round": s.round, "decision": j["decision"], "score": round(j["score"], 3),
                           "verified_claims": j["verified"], "reasons": j["reasons"], "drift": s.drift,
                           "reviews": [{k: r[k] for k in ("role", "score", "rationale", "llm_score", "llm_rationale")}
                                       for r in j["reviews"]]} for s, j in rounds],
               "revision": revision, "frame": {k: v for k, v in (frame or {}).items() if k != "on_frame"},
               "answer": answer.get("summary", []),
               "policy": {"revision_below": cfg.revision_below, "accept_score": cfg.accept_score,
                          "min_verified": cfg.min_verified, "contradiction_factor": cfg.contradiction_factor}}
    write_json(out_json, verdict)
    log.info("%s: %s (score %.2f, %d verified, %d rounds)", study, verdict["decision"], verdict["score"],
             verdict["verified_claims"], len(rounds))
    return verdict
