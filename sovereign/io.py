"""Atomic file writes and small readers shared by every stage.

Outputs are written to a temporary file in the same directory and renamed into
place, so an interrupted job never leaves a half-written file that looks done.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path, text: str) -> None:
    """Write a text file atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, obj) -> None:
    """Write JSON atomically, pretty-printed, keys in a stable order."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


def read_json(path):
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_jsonl(path, records: Iterable[dict]) -> int:
    """Write records as JSON lines atomically; return how many were written."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True, default=str) + "\n")
            n += 1
    return n


def iter_jsonl(path, comments: bool = False) -> Iterator[tuple[int, object]]:
    """(line number, value) of each JSON line, skipping blank lines (and `//` lines when `comments`);
    a bad line raises ValueError naming the file and the line."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or (comments and line.lstrip().startswith("//")):
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc


def read_jsonl(path) -> list[dict]:
    """Read JSON lines, skipping blank lines; a bad line raises ValueError naming its number."""
    return [rec for _, rec in iter_jsonl(path)]


def write_parquet(path, df: pd.DataFrame) -> None:
    """Write a DataFrame to Parquet atomically, without the index."""
    with atomic_path(path, suffix=".parquet") as tmp:
        df.to_parquet(tmp, index=False)


def read_table(path) -> pd.DataFrame:
    """Read a Parquet, JSONL or JSON-list file into a DataFrame."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".jsonl":
        return pd.DataFrame(read_jsonl(path))
    if path.suffix == ".json":
        data = read_json(path)
        return pd.DataFrame(data if isinstance(data, list) else [data])
    raise ValueError(f"{path}: unsupported table format (use .parquet, .jsonl or .json)")
