"""Read what a study's report shows from the warehouse (and committed result files)."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import duckdb
import pandas as pd

from ..io import read_table

log = logging.getLogger(__name__)
TABLES = ("queries", "papers", "claims", "claim_support", "claim_checks", "tribunal_reviews", "verdicts", "answers",
          "study_frames")


def _table(con, table: str, study: str | None) -> pd.DataFrame:
    try:
        if study is None:
            return con.execute(f'SELECT * FROM "{table}"').df()
        return con.execute(f'SELECT * FROM "{table}" WHERE study = ?', [study]).df()
    except duckdb.Error:
        return pd.DataFrame()


def load_study(db_path: str, study: str, suites: list[str] | None) -> dict[str, pd.DataFrame]:
    """Every table of one study; bench rows of its suites (all suites when None)."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        data = {t: _table(con, t, study) for t in TABLES}
        bench = _table(con, "bench_results", None)
    if suites is not None and not bench.empty:
        bench = bench[bench["suite"].isin(suites)]
    data["bench"] = bench.reset_index(drop=True)
    for name in ("tribunal_reviews", "verdicts"):
        if not data[name].empty and "round" in data[name]:
            data[name] = data[name].sort_values(["round"] + (["role"] if "role" in data[name] else []))
    return data


def committed_results(folder: str | None) -> list[dict]:
    """Benchmark files committed under `folder` (e.g. benchmarks/results/h200): rows, device, date, path."""
    if not folder or not Path(folder).is_dir():
        return []
    out = []
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix not in (".parquet", ".jsonl", ".csv") or not path.is_file():
            continue
        try:
            df = pd.read_csv(path) if path.suffix == ".csv" else read_table(path)
        except (ValueError, OSError) as exc:
            log.warning("skipping committed results %s: %s", path, exc)
            continue
        if df.empty or "throughput_ips" not in df.columns:
            continue
        date_col = next((c for c in ("timestamp", "started_at", "date", "measured_at", "created_at") if c in df), None)
        date = str(df[date_col].dropna().astype(str).min())[:19] if date_col and df[date_col].notna().any() else \
            dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).strftime("%Y-%m-%d (file date)")
        gpu = sorted({str(x) for x in df.get("gpu_name", pd.Series(dtype=str)).dropna()}) or \
            sorted({str(x) for x in df.get("cpu_model", pd.Series(dtype=str)).dropna()})
        out.append({"path": str(path), "rows": df, "date": date, "gpu": ", ".join(gpu) or "not recorded",
                    "device": ", ".join(sorted({str(x) for x in df.get("device", pd.Series(dtype=str)).dropna()}))})
    return out
