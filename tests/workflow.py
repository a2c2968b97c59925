"""Run the real workflow (this repository's Snakefile) in a temporary directory."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def write_config(workdir: Path, cfg: dict) -> Path:
    """Write a config whose relative resource paths point into the repository."""
    lit = cfg["literature"]
    if not Path(lit["snapshot_path"]).is_absolute():
        lit["snapshot_path"] = str(ROOT / lit["snapshot_path"])
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile with `workdir` as working directory."""
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--configfile", str(workdir / "config.yaml"),
           "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir)


def planned_jobs(workdir: Path, *targets: str) -> dict[str, int]:
    """Rule -> job count of a dry run (empty when nothing is to be done)."""
    res = snakemake(workdir, "-n", *targets)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout + res.stderr
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:")[-1] if "Job stats:" in out else out
    jobs = {}
    for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M):
        if m.group(1) != "total":
            jobs[m.group(1)] = int(m.group(2))
    return jobs


def run_default(workdir: Path, *targets: str) -> dict:
    """Run the default config (embeddings off, for speed) up to `targets`; return that config."""
    import copy

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["embeddings"]["backend"] = "none"
    write_config(workdir, copy.deepcopy(cfg))
    res = snakemake(workdir, *targets)
    assert res.returncode == 0, res.stderr[-3000:]
    return cfg
