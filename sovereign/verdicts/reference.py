"""Reference rows: benchmark results read from files the user lists (`verdicts.reference_results`).

A results file was measured some other time, somewhere else (e.g. the committed H200 files), so its
rows are labelled origin `reference` with the file, the commit and the date it records, and are
never mistaken for rows this run measured. The date and commit come from a `REFERENCE.yaml` beside
the file (a `files:` mapping of file name to date, commit, command), or from the file's own
`reference_date` / `reference_commit` columns (`measured_at` gives the date too).
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import yaml

from ..io import read_table, write_parquet
from .errors import VerdictConfigError

log = logging.getLogger(__name__)
META_NAME = "REFERENCE.yaml"
SUFFIXES = (".csv", ".parquet", ".jsonl")


def metadata_file(path: str | Path) -> Path:
    """The REFERENCE.yaml that describes a results file (beside it)."""
    return Path(path).with_name(META_NAME)


def _metadata(path: Path) -> dict:
    meta = metadata_file(path)
    if not meta.exists():
        return {}
    try:
        raw = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise VerdictConfigError(f"{meta} is not valid YAML: {exc}") from exc
    entry = (raw.get("files") or {}).get(path.name)
    if entry is not None and not isinstance(entry, dict):
        raise VerdictConfigError(f"{meta}: files.{path.name} must be a mapping with date, commit, command")
    return {**{k: v for k, v in raw.items() if k != "files"}, **(entry or {})}


def _first(df: pd.DataFrame, col: str):
    if col not in df.columns or not df[col].notna().any():
        return None
    return str(df[col].dropna().astype(str).min())


def read_reference_file(path: str) -> pd.DataFrame:
    """One results file's rows, labelled origin `reference` with its file, commit, date and command."""
    p = Path(path)
    if p.suffix not in SUFFIXES:
        raise VerdictConfigError(f"config key 'verdicts.reference_results': {path} is not a results file "
                                 f"({', '.join(SUFFIXES)})")
    if not p.is_file():
        raise VerdictConfigError(f"config key 'verdicts.reference_results': {path} does not exist")
    df = pd.read_csv(p) if p.suffix == ".csv" else read_table(p)
    meta = _metadata(p)
    date = meta.get("date") or _first(df, "reference_date") or _first(df, "measured_at")
    commit = meta.get("commit") or _first(df, "reference_commit")
    missing = [k for k, v in (("date", date), ("commit", commit)) if not v]
    if missing:
        raise VerdictConfigError(
            f"config key 'verdicts.reference_results': {path} records no {' or '.join(missing)}; add "
            f"files.{p.name}: {{date: ..., commit: ..., command: ...}} to {metadata_file(p)}")
    if df.empty:
        return df
    df = df.copy()
    # what the rows ran on, from their own record (older files have no `hardware` column yet)
    gpu = df["gpu_name"].where(df["gpu_name"].notna() & (df["gpu_name"].astype(str).str.strip() != ""), None) \
        if "gpu_name" in df else pd.Series([None] * len(df), index=df.index)
    cpu = df["cpu_model"] if "cpu_model" in df else pd.Series([None] * len(df), index=df.index)
    if "hardware" not in df:
        df["hardware"] = gpu.where(gpu.notna(), cpu)
    if "hardware_kind" not in df:
        df["hardware_kind"] = ["gpu" if isinstance(g, str) else "cpu" if isinstance(c, str) else ""
                               for g, c in zip(gpu, cpu)]
    df["origin"] = "reference"
    df["run_id"] = None  # not measured by this run
    df["reference_file"] = str(path)
    df["reference_date"] = str(date)
    df["reference_commit"] = str(commit)
    df["reference_command"] = str(meta.get("command") or "")
    return df


def read_reference(paths: list[str]) -> pd.DataFrame:
    """Every listed results file's rows as reference rows (an empty frame for no files)."""
    frames = [read_reference_file(p) for p in paths]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    # files of different suites have different extra columns: keep them all, as strings where mixed
    return pd.concat(frames, ignore_index=True)


def write_reference(paths: list[str], out: str) -> pd.DataFrame:
    """Stage entry (read_reference_results): the listed files' rows, labelled `reference`, into one Parquet."""
    df = read_reference(paths)
    for col in df.columns:  # CSV and Parquet files may type one column differently: Parquet needs one type
        if df[col].dtype == object:
            df[col] = df[col].map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    write_parquet(out, df)
    log.info("%d reference rows from %d files: %s", len(df), len(paths),
             "; ".join(f"{p} ({d})" for p, d in df.groupby("reference_file")["reference_date"].first().items())
             if len(df) else "none")
    return df
