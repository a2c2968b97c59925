"""Benchmark files of devices measured in earlier runs, so the warehouse and the checks accumulate devices.

A run on `--profile slurm-l4` followed by one on `--profile slurm-t4` leaves both devices' files under
results/bench/<suite>/<device>/; the second run reads the first one's as well, so "L4 versus T4" is answered.
Only finished files count: a job writes its rows and then its report (each atomically), so rows without a
report at least as new as them are from an interrupted job and are left out.
"""
from __future__ import annotations

import re
from pathlib import Path


def finished(rows: Path, report_suffix: str = ".json") -> bool:
    """True when `rows` has its job report beside it, written after it (the job's last step)."""
    report = rows.with_suffix(report_suffix)
    try:
        return report.stat().st_mtime >= rows.stat().st_mtime
    except FileNotFoundError:
        return False


def measured_files(suite_dir: str, current: list[str], current_devices: list[str]) -> list[str]:
    """Finished rows files under `suite_dir`/<device>/ of devices this run does not benchmark, sorted.

    This run's own devices are left to the rules (their files are this run's outputs)."""
    root = Path(suite_dir)
    if not root.is_dir():
        return []
    keep = set(map(str, current))
    out = []
    for rows in sorted(root.glob("*/*.parquet")):
        device = rows.parent.name
        if device in current_devices or str(rows) in keep:
            continue
        if re.fullmatch(r"[a-z][a-z0-9_]*", device) and finished(rows):
            out.append(str(rows))
    return out


def device_pattern(devices: list[str]) -> str:
    """A wildcard constraint matching exactly these device names (none: a pattern matching nothing)."""
    return "|".join(re.escape(d) for d in devices) if devices else "(?!)"
