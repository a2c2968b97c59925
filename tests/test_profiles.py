"""`snakemake --profile slurm-l4` by bare name, after tools/link-profiles.sh (run by `make install`)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workflow import ROOT, SNAKEMAKE

LINKER = str(ROOT / "tools" / "link-profiles.sh")


@pytest.fixture()
def home(tmp_path) -> dict:
    """An environment whose HOME and XDG config dirs are empty temporary folders."""
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "xdg"),
               XDG_CONFIG_DIRS=str(tmp_path / "etc-xdg"))
    (tmp_path / "home").mkdir()
    return env


def link(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", LINKER, sys.executable], env=env, capture_output=True, text=True, timeout=60)


def plan(env: dict, profile: str) -> subprocess.CompletedProcess:
    return subprocess.run([SNAKEMAKE, "--profile", profile, "-n"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_profiles_are_linked_back_to_the_checkout(home):
    res = link(home)
    assert res.returncode == 0, res.stderr
    dest = Path(home["XDG_CONFIG_HOME"]) / "snakemake"
    names = sorted(p.name for p in (ROOT / "profiles").iterdir() if p.is_dir())
    assert sorted(p.name for p in dest.iterdir()) == names
    for name in names:
        assert (dest / name).is_symlink() and (dest / name).resolve() == (ROOT / "profiles" / name).resolve()
    again = link(home)  # a second run changes nothing and says nothing
    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""


def test_another_checkouts_identical_links_are_left_quietly(home, tmp_path):
    other = tmp_path / "clone" / "profiles"
    for p in (ROOT / "profiles").iterdir():
        (other / p.name).mkdir(parents=True)
        (other / p.name / "config.yaml").write_bytes((p / "config.yaml").read_bytes())
    dest = Path(home["XDG_CONFIG_HOME"]) / "snakemake"
    dest.mkdir(parents=True)
    for p in other.iterdir():
        (dest / p.name).symlink_to(p)
    (other / "slurm" / "config.yaml").write_text("executor: slurm\njobs: 7\n", encoding="utf-8")  # one differs
    res = link(home)
    assert res.returncode == 0
    assert "slurm-l4" not in res.stdout + res.stderr  # identical: nothing said
    assert f"{dest / 'slurm'} exists and is not a link" in res.stderr  # different: warned, left alone


def test_bare_profile_name_plans_the_workflow_from_the_checkout(home):
    before = plan(home, "slurm-l4")
    assert before.returncode != 0 and "slurm-l4" in before.stdout + before.stderr  # not found without the links
    assert link(home).returncode == 0
    res = plan(home, "slurm-l4")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    # the profile's own config reached the plan: benchmarks on the L4 entry only, through Slurm's resources
    assert "rule bench_cnn:" in out and "wildcards: device=l4" in out
    assert "device=cpu" not in out
    assert "Job stats:" in out and "This was a dry-run" in out


def test_an_existing_different_profile_is_not_clobbered(home):
    own = Path(home["XDG_CONFIG_HOME"]) / "snakemake" / "slurm"
    own.mkdir(parents=True)
    (own / "config.yaml").write_text("executor: slurm\njobs: 7\n", encoding="utf-8")
    res = link(home)
    assert res.returncode == 0
    assert f"{own} exists and is not a link" in res.stderr
    assert not own.is_symlink() and (own / "config.yaml").read_text(encoding="utf-8") == "executor: slurm\njobs: 7\n"
    assert (own.parent / "slurm-l4").is_symlink()  # the others are still linked
