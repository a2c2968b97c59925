"""Read what a study's report shows from the warehouse (this run's rows and, apart, the reference rows)."""
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
    # reference rows (read from results files) are shown apart from this run's, labelled with their date
    ref = bench["origin"].astype(str).eq("reference") if "origin" in bench else pd.Series(False, index=bench.index)
    data["bench"] = bench[~ref].reset_index(drop=True)
    data["reference"] = bench[ref].reset_index(drop=True)
    from .sections import with_text_origin  # here, not at the top: sections imports the HTML helpers

    data["claim_checks"] = with_text_origin(data["claim_checks"], data["claims"])
    for name in ("tribunal_reviews", "verdicts"):
        if not data[name].empty and "round" in data[name]:
            data[name] = data[name].sort_values(["round"] + (["role"] if "role" in data[name] else []))
    return data


def reference_results(rows: pd.DataFrame) -> list[dict]:
    """Reference rows grouped by the file they were read from: rows, hardware, device, date, commit, path."""
    if rows is None or rows.empty or "reference_file" not in rows:
        return []
    out = []
    for path, df in rows.groupby("reference_file", sort=True):
        first = df.iloc[0]
        hw = sorted({str(x) for x in df.get("hardware", pd.Series(dtype=str)).dropna() if str(x)})
        out.append({"path": str(path), "rows": df.reset_index(drop=True), "date": str(first.get("reference_date") or ""),
                    "commit": str(first.get("reference_commit") or ""), "command": str(first.get("reference_command") or ""),
                    "gpu": ", ".join(hw) or "not recorded",
                    "device": ", ".join(sorted({str(x) for x in df["device"].dropna()}))})
    return out
