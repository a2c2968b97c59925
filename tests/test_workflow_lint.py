"""Snakemake conventions: `snakemake --lint` and `snakefmt --check` clean; bench jobs get the env of their device."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from workflow import ROOT, SNAKEMAKE, write_config

BIN = Path(sys.executable).parent
SMK_FILES = ["Snakefile", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "rules").glob("*.smk"))]


def test_snakemake_lint_finds_nothing():
    res = subprocess.run([SNAKEMAKE, "--lint", "--cores", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "Lints for" not in out, out


def test_snakefmt_check_is_clean():
    res = subprocess.run([str(BIN / "snakefmt"), "--check", *SMK_FILES], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, f"run `snakefmt {' '.join(SMK_FILES)}`:\n{res.stdout}{res.stderr}"


def test_snakefmt_check_would_catch_a_badly_formatted_rule(tmp_path):
    # guards the test above: the check really fails on unformatted rules
    bad = tmp_path / "bad.smk"
    bad.write_text('rule x:\n    output: "a"\n    shell: "touch {output}"\n', encoding="utf-8")
    res = subprocess.run([str(BIN / "snakefmt"), "--check", str(bad)], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0


def test_readme_rule_graph_shows_every_rule():
    # docs/rulegraph.svg is `make rulegraph`; a rule added or renamed without regenerating it fails here
    res = subprocess.run([SNAKEMAKE, "--rulegraph", "--cores", "1"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    rules = set(re.findall(r'label = "([a-z_]+)"', res.stdout))
    drawn = set(re.findall(r">([a-z_]+)</text>", (ROOT / "docs" / "rulegraph.svg").read_text(encoding="utf-8")))
    assert "bench_cnn" in rules and drawn == rules
    assert "docs/rulegraph.svg" in (ROOT / "README.md").read_text(encoding="utf-8")


# Snakemake's own choice of env per job. `snakemake --list-conda-envs` would print it but needs a conda
# binary; this asks the same DAG, through the API, what each job's conda directive expands to.
PROBE = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

snakefile, workdir = Path(sys.argv[1]), Path(sys.argv[2])
with SnakemakeApi(OutputSettings()) as api:
    wf_api = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=snakefile, workdir=workdir,
                          config_settings=ConfigSettings(configfiles=[workdir / "config.yaml"]))
    dag_api = wf_api.dag(DAGSettings(forceall=True))
    wf = dag_api.workflow_api._workflow
    wf._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True, nolock=True)
    wf._build_dag()
    jobs = [(j.rule.name, j.wildcards_dict.get("device"), Path(j.conda_env_spec.file.get_path_or_uri(secret_free=True)).name)
            for j in wf.dag.jobs if j.rule.name.startswith("bench_")]
print("ENVS " + json.dumps(sorted(set(jobs))))
"""


def bench_envs(workdir: Path, devices: list[str]) -> list[list]:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    cfg["bench"]["devices"] = devices
    write_config(workdir, cfg)
    res = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "Snakefile"), str(workdir)], capture_output=True,
                         text=True, timeout=300, cwd=workdir)
    lines = [line for line in res.stdout.splitlines() if line.startswith("ENVS ")]
    assert res.returncode == 0 and lines, res.stdout + res.stderr
    return json.loads(lines[-1][5:])


def test_bench_jobs_use_the_gpu_env_on_cuda_devices_only(tmp_path):
    got = bench_envs(tmp_path, ["cpu", "l4"])
    assert got == [["bench_cnn", "cpu", "bench-cpu.yaml"], ["bench_cnn", "l4", "bench-gpu.yaml"],
                   ["bench_llm", "cpu", "bench-cpu.yaml"], ["bench_llm", "l4", "bench-gpu.yaml"],
                   ["bench_moe", "cpu", "bench-cpu.yaml"], ["bench_moe", "l4", "bench-gpu.yaml"]]
    # and the plain dry run plans those GPU jobs
    res = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--configfile",
                          str(tmp_path / "config.yaml"), "--cores", "2", "-n"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "wildcards: device=l4" in res.stdout


def _extras(name: str, extras: dict) -> set[str]:
    """Package names an extra brings, following sovereign[...] references."""
    out = set()
    for req in extras[name]:
        pkg = req.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
        if pkg.startswith("sovereign["):
            for sub in pkg[len("sovereign["):-1].split(","):
                out |= _extras(sub, extras)
        else:
            out.add(pkg.lower())
    return out


def _env_packages(path: Path) -> set[str]:
    deps = yaml.safe_load(path.read_text(encoding="utf-8"))["dependencies"]
    pip = next((d["pip"] for d in deps if isinstance(d, dict) and "pip" in d), [])
    names = [d for d in deps if isinstance(d, str)] + [p for p in pip if not p.startswith("-")]
    return {n.split("=")[0].split(">")[0].strip().lower() for n in names}


def test_no_install_target_mixes_the_two_onnxruntime_packages():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert "onnxruntime-gpu" in _extras("gpu", extras) and "tensorrt" in _extras("gpu", extras)
    assert "onnxruntime" in _extras("all", extras) and "onnxruntime-gpu" not in _extras("all", extras)
    for name in extras:
        assert not {"onnxruntime", "onnxruntime-gpu"} <= _extras(name, extras), name
    envs = {p.name: _env_packages(p) for p in (ROOT / "envs").glob("*.yaml")}
    assert {"torch", "onnxruntime-gpu", "tensorrt-cu13"} <= envs["bench-gpu.yaml"]
    assert "onnxruntime" in envs["bench-cpu.yaml"]
    for name, pkgs in envs.items():
        assert not {"onnxruntime", "onnxruntime-gpu"} <= pkgs, name


def test_extras_would_be_caught_mixing():
    # guards the test above with a made-up extra that mixes them
    extras = {"x": ["onnxruntime>=1", "sovereign[y]"], "y": ["onnxruntime-gpu>=1"]}
    assert {"onnxruntime", "onnxruntime-gpu"} <= _extras("x", extras)
