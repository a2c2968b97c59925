"""`make install` is decided by the content of pyproject.toml and constraints.txt, not their timestamps."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from workflow import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _checkout(tmp_path):
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    # a stand-in python: the recipe's pip calls succeed and are recorded, nothing is installed
    fake = venv / "bin" / "python"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'pip.log'}\n", encoding="utf-8")
    fake.chmod(0o755)
    return venv


def _install(tmp_path, venv):
    return subprocess.run(["make", "-s", f"VENV={venv}", str(venv / ".installed")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_install_runs_once_per_content_not_per_timestamp(tmp_path):
    venv = _checkout(tmp_path)
    first = _install(tmp_path, venv)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "pip.log").read_text().count("install") == 2  # pip upgrade + the package
    stamp = (venv / ".installed").read_text()
    # a fresh clone: the sources newer than the stamp, same content -> nothing to do
    later = time.time() + 100
    for name in ("pyproject.toml", "constraints.txt"):
        os.utime(tmp_path / name, (later, later))
    again = _install(tmp_path, venv)
    assert again.returncode == 0 and "installing" not in again.stdout
    assert (tmp_path / "pip.log").read_text().count("install") == 2
    # a changed constraint: installs again and records the new hash
    with open(tmp_path / "constraints.txt", "a", encoding="utf-8") as fh:
        fh.write("\n# changed\n")
    third = _install(tmp_path, venv)
    assert third.returncode == 0 and "installing" in third.stdout
    assert (tmp_path / "pip.log").read_text().count("install") == 4
    assert (venv / ".installed").read_text() != stamp
