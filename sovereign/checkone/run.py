"""Run `sovereign check`: claims -> smallest grid -> the bench harness -> check_frame -> printed checks."""
from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path

import pandas as pd

from ..bench.config import stable_hash
from ..config import ROOT, load_user_config
from ..errors import ConfigError
from ..io import write_parquet
from .plan import plan_checks

DECIDING = ("REPRODUCED", "NOT_REPRODUCED")
NO_CLAIM = (None, "not_empirical", "not_a_claim")


def load_check_config(path: str | None) -> dict:
    """config/config.yaml with the user's file applied on it, validated."""
    cfg = load_user_config(path)
    snap = cfg["literature"]["snapshot_path"]
    if not Path(snap).is_absolute() and not Path(snap).exists() and (ROOT / snap).exists():
        cfg["literature"]["snapshot_path"] = str(ROOT / snap)  # the shipped corpus, as the workflow finds it
    return cfg


def read_claims(config: dict, sentence: str | None, paper: str | None) -> list[dict]:
    """The claims of the sentence, or of the paper's text (abstract and, from the corpus, its full text)."""
    from ..claims.parse import SentenceParser
    from ..claims.vocab import load_vocab
    from ..text import split_sentences

    if bool(sentence) == bool(paper):
        raise ConfigError("give one sentence or --paper ID (not both, not neither)")
    parser = SentenceParser(load_vocab(config["claims"]["vocab_path"] or None))
    if sentence:
        texts, source = [sentence], "sentence"
    else:
        from ..literature.queries import pinned_query
        from ..literature.search import fetch_by_id

        lit = config["literature"]
        [rec], used, _ = fetch_by_id(pinned_query([paper]), lit["source"], lit["snapshot_path"], lit["arxiv"])
        full = _corpus_full_text(lit["snapshot_path"], rec["id"]) if used == "snapshot" else _pdf_text(rec, lit)
        texts, source = split_sentences(" ".join(t for t in (rec.get("abstract"), full) if t)), rec["id"]
    claims = []
    for text in texts:
        for row in parser.parse(text):
            claims.append({**row, "claim_id": f"c{len(claims) + 1}", "paper_id": source, "study": "check"})
    return claims


def _corpus_full_text(path: str, paper_id: str) -> str:
    from ..literature.snapshot import load_corpus

    return next((r.get("full_text") or "" for r in load_corpus(path) if r["id"] == paper_id), "")


def _pdf_text(rec: dict, lit: dict) -> str:
    """A live paper's PDF text (cached as fetch_fulltext caches it); its abstract alone when that fails."""
    import requests

    from ..literature.fulltext import cached_pdf_path, download_pdf, extract_pdf_text

    ft = lit["fulltext"]
    if not (ft["enabled"] and rec.get("pdf_url")):
        return ""
    dest = cached_pdf_path(ft["cache_dir"], rec["id"])
    try:
        data = dest.read_bytes() if dest.exists() else download_pdf(
            rec["pdf_url"], dest, int(ft["max_pdf_mb"] * 1e6), lit["arxiv"]["timeout_s"])
        return extract_pdf_text(data, ft["max_chars"])
    except (requests.RequestException, ValueError, OSError) as exc:
        print(f"sovereign check: {rec['id']}: no PDF text ({exc}); reading its abstract only", file=sys.stderr)
        return ""


def run_grid(config: dict, device: str, plan, out: str, time_budget: float | None) -> list[str]:
    """Run the planned jobs through the bench harness (one tqdm step per job); return the rows files."""
    from tqdm import tqdm

    from ..bench.cnn import job_paths, run_sweep

    timing = {"time_budget_s": time_budget} if time_budget else None
    files = []
    jobs = sorted(plan.jobs.items())
    for (model, backend, precision), batches in tqdm(jobs, desc="benchmark jobs", unit="job", file=sys.stderr):
        run_sweep(config, device, out, models=[model], backends=[backend], precisions=[precision],
                  batch_sizes=sorted(batches), timing=timing,
                  config_hash=stable_hash({"devices": config["devices"], "bench": config["bench"]}))
        files.append(str(job_paths(out, device, model, backend, precision)[0]))
    return files


def on_this_device(claims: list[dict], rows: pd.DataFrame, hw):
    """Claims naming no device are about the device the command ran on: its recorded hardware."""
    from ..verdicts.hardware import measured_cpu_key

    recorded = sorted({str(h) for h in (rows.get("hardware") if "hardware" in rows else pd.Series(dtype=str)).dropna()})
    if len(recorded) != 1:
        return hw, claims, {}
    h = recorded[0]
    cpu = (rows["hardware_kind"].dropna() == "cpu").all() if "hardware_kind" in rows else False
    spec = hw.identify(h, "cpu" if cpu else "gpu")
    if spec is None and cpu:
        hw = hw.with_measured_cpus([h])
        spec = hw.identify(h, "cpu")
    name = spec.key if spec is not None else (measured_cpu_key(h) if cpu else h)
    out, assumed = [], {}
    for c in claims:
        if not c.get("subject_device") and not c.get("baseline_device") and c.get("kind") not in NO_CLAIM:
            c = {**c, "subject_device": name}
            assumed[c["claim_id"]] = h
        out.append(c)
    return hw, out, assumed


def _num(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def arithmetic(row: dict) -> str:
    """The comparison as numbers: measured / claimed, and how far from 1 against the tolerance."""
    claimed, measured, tol = _num(row.get("claimed_value")), _num(row.get("measured_value")), _num(row.get("tolerance"))
    if claimed is None or measured is None:
        return ""
    ratio = _num(row.get("ratio"))
    ratio = ratio if ratio is not None else (measured / claimed if claimed else None)
    if ratio is None:
        return f"measured {measured:.4g} vs claimed {claimed:.4g}"
    return (f"measured {measured:.4g} / claimed {claimed:.4g} = {ratio:.3f}; |{ratio:.3f} - 1| = {abs(ratio - 1):.3f} "
            f"{'<=' if abs(ratio - 1) <= (tol or 0) else '>'} tolerance {tol:.2f} ({row.get('qualifier') or 'exact'} "
            f"claim; the check's own rule decides: {row['status']})")


def format_checks(checks: pd.DataFrame, plan, files: list[str]) -> str:
    """The report printed: per claim its status, arithmetic, reason and rows; then the files written."""
    lines = []
    for row in checks.to_dict("records"):
        lines.append(f"[{row['status']}] {row.get('sentence')}")
        if row.get("kind") not in NO_CLAIM:
            value = _num(row.get("claimed_value"))
            unit = row.get("unit") if isinstance(row.get("unit"), str) else ""
            lines.append(f"  claim: {row.get('kind')} {row.get('metric')} {'' if value is None else f'{value:g}'} {unit}"
                         .rstrip())
        if arithmetic(row):
            lines.append(f"  arithmetic: {arithmetic(row)}")
        lines.append(f"  reason: {row['reason']}")
        used = json.loads(row.get("bench_rows") or "[]")
        for r in used:
            lines.append(f"  row used: {r.get('key', r) if isinstance(r, dict) else r}"
                         + (f" on {r['hardware']}" if isinstance(r, dict) and r.get("hardware") else ""))
        if row["claim_id"] in plan.untestable:
            lines.append(f"  would test it: {plan.untestable[row['claim_id']]}")
    lines.append("files written:")
    lines += [f"  {f}" for f in files]
    return "\n".join(lines)


def check_command(args) -> int:
    """The command: 0 every testable claim reproduced, 1 one did not (errors raise; the caller returns 2)."""
    from ..verdicts.check import CHECK_COLUMNS, Bench, check_frame, read_bench
    from ..verdicts.hardware import load_hardware
    from ..verdicts.settings import CheckConfig

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = load_check_config(args.config)
    if args.device not in config["devices"]:
        raise ConfigError(f"--device {args.device!r} names no entry under devices (known: {', '.join(config['devices'])})")
    conf = CheckConfig.from_dict(config["verdicts"])
    hw = load_hardware(conf.devices_file or None)
    claims = read_claims(config, args.sentence, args.paper)
    if not claims:
        print("no claim read: the text states no measurable figure (see `sovereign claims` for what is read)")
        return 0
    plan = plan_checks(claims, config, args.device, hw)
    files = run_grid(config, args.device, plan, args.out, args.time_budget) if plan.jobs else []
    rows = read_bench(files)
    hw, claims, assumed = on_this_device(claims, rows, hw)
    bench = Bench(rows, hw, False)
    checks = check_frame("check", pd.DataFrame(claims), None, bench, conf)
    for cid, what in assumed.items():
        checks.loc[checks["claim_id"] == cid, "reason"] += f"; the claim names no device: checked on {what} (--device)"
    out = Path(args.out) / "claim_checks.parquet"
    write_parquet(out, checks[[c for c in CHECK_COLUMNS if c in checks.columns]])
    print(format_checks(checks, plan, files + [str(out)]))
    statuses = checks["status"].tolist()
    deciding = [s for s in statuses if s in DECIDING]
    failed = sum(s == "NOT_REPRODUCED" for s in statuses)
    print(f"summary: {len(statuses)} claims, {len(deciding)} testable here, {len(deciding) - failed} reproduced, "
          f"{failed} not reproduced")
    return 1 if failed else 0
