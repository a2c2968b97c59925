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
from .roles import RoundState, render, skeptic, synthesizer, validator
from .settings import CheckConfig, TribunalConfig

log = logging.getLogger(__name__)


def decide(score: float, verified: int, drift: dict, contradicted: list[str], cfg: TribunalConfig,
           revision_follows: bool) -> tuple[str, list[str]]:
    """The policy: REVISE when a revision round follows; then REJECT for topic drift or contradiction,
    ACCEPT with score and verified claims, else ESCALATE_TO_OWNER."""
    if revision_follows:
        return "REVISE", [f"score {score:.2f} < {cfg.revision_below}: revision round gathers more evidence"]
    reasons = []
    if drift["drift"]:
        reasons.append("topic drift: " + "; ".join(drift["reasons"]))
    if contradicted:
        reasons.append(f"claims contradicted by measurement: {', '.join(contradicted)}")
    if reasons:
        return "REJECT", reasons
    if score >= cfg.accept_score and verified >= cfg.min_verified:
        return "ACCEPT", [f"score {score:.2f} >= {cfg.accept_score}, {verified} verified claims >= {cfg.min_verified}, "
                          "no topic drift"]
    if score < cfg.accept_score:
        reasons.append(f"score {score:.2f} < {cfg.accept_score}")
    if verified < cfg.min_verified:
        reasons.append(f"{verified} verified claims < {cfg.min_verified} needed")
    return "ESCALATE_TO_OWNER", reasons


def _evidence_text(texts: dict, claims: pd.DataFrame) -> str:
    sents = claims.loc[claims["paper_id"].isin(texts), "sentence"].dropna().tolist() if not claims.empty else []
    return " ".join(list(texts.values()) + sents)


def _judge(state: RoundState, cfg: TribunalConfig, revision_possible: bool) -> dict:
    s_score, s_items = skeptic(state)
    v_score, v_items = validator(state)
    y_score, y_items = synthesizer(state, s_score, v_score)
    checks = state.checks
    verified = int((checks["status"] == "REPRODUCED").sum()) if not checks.empty else 0
    contradicted = checks.loc[checks["contradicted"].astype(bool), "claim_id"].tolist() if not checks.empty else []
    follows = revision_possible and y_score < cfg.revision_below
    decision, reasons = decide(y_score, verified, state.drift, contradicted, cfg, follows)
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
    return {"reviews": reviews, "score": y_score, "verified": verified, "decision": decision, "reasons": reasons,
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
                 requery_path: str | None = None, claims_cfg: dict | None = None) -> dict:
    """Stage entry: judge one study (with a revision round when the score is low) and write its verdict.

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
    drift1 = check_drift(question, screening, _evidence_text(kept1, claims), cfg.drift_min_term_share)
    state1 = RoundState(study, 1, question, drift1, checks1, claims, kept1, bench1.devices,
                        sorted(set(bench1.df["suite"].dropna())))
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
        drift2 = check_drift(question, screening, _evidence_text(kept2, claims), cfg.drift_min_term_share)
        checks2 = check_frame(study, claims, support, bench2, ccfg, cfg.contradiction_factor, round_no=2)
        state2 = RoundState(study, 2, question, drift2, checks2, claims, kept2, bench2.devices,
                            sorted(set(bench2.df["suite"].dropna())), rg["corroboration"])
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
    verdict = {"study": study, "question": question, "decision": last["decision"], "score": round(last["score"], 3),
               "round": len(rounds), "verified_claims": last["verified"], "reasons": last["reasons"],
               "rounds": [{"round": s.round, "decision": j["decision"], "score": round(j["score"], 3),
                           "verified_claims": j["verified"], "reasons": j["reasons"], "drift": s.drift,
                           "reviews": [{k: r[k] for k in ("role", "score", "rationale", "llm_score", "llm_rationale")}
                                       for r in j["reviews"]]} for s, j in rounds],
               "revision": revision,
               "policy": {"revision_below": cfg.revision_below, "accept_score": cfg.accept_score,
                          "min_verified": cfg.min_verified, "contradiction_factor": cfg.contradiction_factor}}
    write_json(out_json, verdict)
    log.info("%s: %s (score %.2f, %d verified, %d rounds)", study, verdict["decision"], verdict["score"],
             verdict["verified_claims"], len(rounds))
    return verdict
