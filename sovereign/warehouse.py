"""load_warehouse: build results/sovereign.duckdb from the stage outputs.

The tables below are a public interface (DESIGN.md, warehouse contract): these
columns must exist with these meanings; stages may add more. The file is built
anew into a temporary file and renamed into place, so a reload never duplicates
rows and an interrupted load never leaves a half-written warehouse. The `runs`
table keeps its history across reloads.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from . import __version__
from .errors import WarehouseError
from .io import atomic_path, read_table

log = logging.getLogger(__name__)

V, D, B, I, T = "VARCHAR", "DOUBLE", "BOOLEAN", "BIGINT", "TIMESTAMP"

CONTRACT: dict[str, dict[str, str]] = {
    "runs": {"run_id": V, "started_at": T, "config_hash": V, "sovereign_version": V},
    "queries": {"study": V, "query_id": V, "text": V},
    "papers": {"study": V, "paper_id": V, "title": V, "published": V, "relevance_tfidf": D,
               "relevance_embedding": D, "kept": B, "drift": B, "text_origin": V},
    "claims": {"study": V, "claim_id": V, "paper_id": V, "sentence": V, "kind": V, "metric": V,
               "value": D, "unit": V, "qualifier": V, "subject_device": V, "subject_model": V,
               "subject_backend": V, "subject_precision": V, "subject_method": V, "subject_batch": V,
               "baseline_device": V, "baseline_model": V, "baseline_backend": V,
               "baseline_precision": V, "baseline_method": V, "text_origin": V, "subject_from": V},
    "claim_support": {"study": V, "claim_id": V, "text_support": D, "numbers_grounded": B,
                      "evidence": V, "method": V},
    "bench_results": {"suite": V, "device": V, "gpu_name": V, "model": V, "backend": V,
                      "precision": V, "batch_size": I, "status": V, "reason": V,
                      "latency_ms_p50": D, "latency_ms_p90": D, "latency_ms_p99": D,
                      "throughput_ips": D, "peak_mem_mb": D, "energy_j_per_item": D,
                      "iterations": I, "origin": V, "hardware": V},
    "claim_checks": {"study": V, "claim_id": V, "status": V, "claimed_value": D,
                     "measured_value": D, "ratio": D, "tolerance": D, "plausibility": V,
                     "utilization": D, "reason": V, "counts_as_verified": B},
    "tribunal_reviews": {"study": V, "round": I, "role": V, "score": D, "rationale": V},
    "verdicts": {"study": V, "round": I, "score": D, "verified_claims": I, "decision": V,
                 "reasons": V},
    "study_frames": {"study": V, "element": V, "value": V},
    "answers": {"study": V, "comparison": V, "finding": V, "measured_evidence": V, "claims": V,
                "conditional": B, "untested": V},
}

# What identifies a row. A load whose inputs give two different rows one key fails (rows that are
# equal in every column are one row). bench_results has no key: suites add their own dimensions.
KEYS: dict[str, tuple[str, ...]] = {
    "queries": ("study", "query_id"),
    "papers": ("study", "paper_id"),
    "claims": ("study", "claim_id"),
    "claim_support": ("study", "claim_id"),
    "claim_checks": ("study", "claim_id"),
    "tribunal_reviews": ("study", "round", "role"),
    "verdicts": ("study", "round"),
    "answers": ("study", "comparison"),
}

# Views over the contract tables, created after every load (load_warehouse's `views` adds more).
VIEWS: list[tuple[str, str]] = [
    ("study_papers_kept",
     "SELECT study, count(*) FILTER (WHERE kept) AS kept, count(*) AS retrieved, "
     "count(*) FILTER (WHERE drift) AS drift FROM papers GROUP BY study ORDER BY study"),
]


def _frame(table: str, paths: list[str]) -> pd.DataFrame:
    """Concatenate a table's input files and check the contract columns are there."""
    frames = []
    for p in paths:
        df = read_table(p)
        if df.empty:
            continue
        missing = [c for c in CONTRACT[table] if c not in df.columns]
        if missing:
            raise WarehouseError(f"{p}: rows for table '{table}' lack contract columns {missing}; the file was written "
                                 "by an older sovereign: delete it (or run snakemake with --forcerun on the rule "
                                 "that writes it) so this version measures or derives it again")
        frames.append(df)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in CONTRACT[table]})
    return pd.concat(frames, ignore_index=True)


def with_fulltext_origin(papers: pd.DataFrame, fulltext_paths: list[str]) -> pd.DataFrame:
    """papers.text_origin says `pdf` where the paper's full text was read from its PDF (fulltext.parquet).

    Screening knows only the abstract (`abstract` or `snapshot`); the full-text stage runs later."""
    frames = [read_table(p) for p in fulltext_paths]
    frames = [f for f in frames if not f.empty and {"text_origin", "status"} <= set(f.columns)]
    if papers.empty or not frames or "text_origin" not in papers.columns:
        return papers
    ft = pd.concat(frames, ignore_index=True)
    pdf = ft[(ft["status"] == "ok") & (ft["text_origin"] == "pdf")]
    keys = set(zip(pdf["study"].astype(str), pdf["paper_id"].astype(str)))
    hit = [(s, p) in keys for s, p in zip(papers["study"].astype(str), papers["paper_id"].astype(str))]
    return papers.assign(text_origin=papers["text_origin"].where(~pd.Series(hit, index=papers.index), "pdf"))


def _previous_runs(db_path: Path) -> pd.DataFrame | None:
    if not db_path.exists():
        return None
    try:
        with duckdb.connect(str(db_path), read_only=True) as con:
            return con.execute("SELECT * FROM runs").df()
    except duckdb.Error as exc:  # an old or damaged file: start the history again, say so
        log.warning("could not read run history from %s (%s); starting a new history", db_path, exc)
        return None


def _create(con, table: str, df: pd.DataFrame) -> None:
    cols = CONTRACT[table]
    extra = [c for c in df.columns if c not in cols]
    con.register("_incoming", df[list(cols) + extra])
    select = ", ".join([f'CAST("{c}" AS {t}) AS "{c}"' for c, t in cols.items()] + [f'"{c}"' for c in extra])
    con.execute(f'CREATE TABLE "{table}" AS SELECT DISTINCT {select} FROM _incoming')
    con.unregister("_incoming")


def _check_key(con, table: str, key: tuple[str, ...]) -> None:
    cols = ", ".join(f'"{c}"' for c in key)
    dup = con.execute(f'SELECT {cols}, count(*) AS n FROM "{table}" GROUP BY ALL HAVING n > 1 ORDER BY ALL').fetchall()
    if dup:
        shown = "; ".join(", ".join(map(str, row[:-1])) for row in dup[:3])
        raise WarehouseError(f"table '{table}': {len(dup)} keys ({', '.join(key)}) have differing rows, e.g. {shown}; "
                             "two stage outputs disagree about the same row")


def load_warehouse(db_path: str, inputs: dict[str, list[str]], config_hash: str,
                   keys: dict[str, tuple[str, ...]] | None = None,
                   views: list[tuple[str, str]] | None = None, fulltext: list[str] | None = None) -> dict[str, int]:
    """Build the warehouse from `inputs` (table -> files); return the row count of each table.

    `keys` (default KEYS) names the columns that identify a row of each table; `views` are
    (name, sql) created besides VIEWS; `fulltext` (fulltext.parquet files) marks papers read from their PDF."""
    unknown = sorted(set(inputs) - set(CONTRACT))
    if unknown:
        raise WarehouseError(f"no warehouse table named {unknown}; tables are {sorted(CONTRACT)}")
    db_path = Path(db_path)
    runs = _previous_runs(db_path)
    now = pd.Timestamp(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    this_run = pd.DataFrame([{"run_id": uuid.uuid4().hex[:12], "started_at": now,
                              "config_hash": config_hash, "sovereign_version": __version__}])
    runs = this_run if runs is None or runs.empty else pd.concat([runs, this_run], ignore_index=True)
    counts = {}
    with atomic_path(db_path, suffix=".duckdb") as tmp:
        tmp.unlink()  # duckdb wants to create the file itself
        with duckdb.connect(str(tmp)) as con:
            _create(con, "runs", runs)
            for table in CONTRACT:
                if table == "runs":
                    continue
                df = _frame(table, [str(p) for p in inputs.get(table, [])])
                if table == "papers" and fulltext:
                    df = with_fulltext_origin(df, [str(p) for p in fulltext])
                _create(con, table, df)
                key = (KEYS if keys is None else keys).get(table)
                if key:
                    _check_key(con, table, key)
            for name, sql in VIEWS + list(views or []):
                con.execute(f'CREATE VIEW "{name}" AS {sql}')
            for table in CONTRACT:
                counts[table] = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
            con.execute("CHECKPOINT")
        wal = Path(str(tmp) + ".wal")
        if wal.exists():
            wal.unlink()
    return counts


def query(db_path: str, sql: str) -> pd.DataFrame:
    """Run read-only SQL on the warehouse and return a DataFrame."""
    if not Path(db_path).exists():
        raise WarehouseError(f"{db_path} does not exist yet; run the workflow first (see README)")
    with duckdb.connect(str(db_path), read_only=True) as con:
        try:
            return con.execute(sql).df()
        except duckdb.Error as exc:
            raise WarehouseError(f"query failed: {exc}") from exc
