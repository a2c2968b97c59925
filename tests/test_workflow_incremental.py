"""Incremental reruns with real Snakemake runs: a config change reruns only what it touches."""
from __future__ import annotations

import copy
import re

import pytest

from workflow import planned_jobs, run_default, snakemake, write_config

pytestmark = pytest.mark.slow
TARGETS = ("results/gpu/fulltext.parquet", "results/routing/fulltext.parquet")


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One real run of the literature stage for both studies (TF-IDF only, for speed)."""
    workdir = tmp_path_factory.mktemp("wf")
    return workdir, run_default(workdir, *TARGETS)


def test_unchanged_rerun_does_nothing(ran):
    workdir, _ = ran
    assert planned_jobs(workdir, *TARGETS) == {}


def test_threshold_change_reruns_screening_and_what_follows_never_searches(ran):
    workdir, cfg = ran
    changed = copy.deepcopy(cfg)
    changed["screening"]["tfidf_threshold"] = 0.2
    write_config(workdir, changed)
    try:
        jobs = planned_jobs(workdir, *TARGETS)
    finally:
        write_config(workdir, copy.deepcopy(cfg))
    assert jobs == {"screen_papers": 2, "fetch_fulltext": 2}


def test_live_arxiv_settings_rerun_nothing_when_searching_the_snapshot(ran):
    workdir, cfg = ran
    assert cfg["literature"]["source"] == "snapshot"
    changed = copy.deepcopy(cfg)
    changed["literature"]["arxiv"]["delay_s"] = cfg["literature"]["arxiv"]["delay_s"] + 2
    write_config(workdir, changed)
    try:
        assert planned_jobs(workdir, *TARGETS) == {}
    finally:
        write_config(workdir, copy.deepcopy(cfg))


def test_query_change_reruns_only_that_studys_searches(ran):
    workdir, cfg = ran
    changed = copy.deepcopy(cfg)
    changed["studies"]["gpu"]["queries"] = ["NVIDIA L4 versus T4 inference", "T4 ResNet-50 TensorRT INT8 throughput",
                                            "L4 GPU inference benchmark", "GPU inference batch size precision"]
    write_config(workdir, changed)
    try:
        jobs = planned_jobs(workdir, *TARGETS)
        out = snakemake(workdir, "-n", "--printshellcmds", *TARGETS)
    finally:
        write_config(workdir, copy.deepcopy(cfg))
    assert jobs == {"plan_queries": 1, "search_arxiv": 4, "screen_papers": 1, "fetch_fulltext": 1}
    outputs = re.findall(r"^\s+output: (.+)$", out.stdout + out.stderr, re.M)
    assert len(outputs) == 7
    assert all(o.startswith("results/gpu/") for o in outputs), outputs


def test_outputs_are_real(ran):
    import pandas as pd

    workdir, _ = ran
    papers = pd.read_parquet(workdir / "results/gpu/papers.parquet")
    assert len(papers) > 0 and papers["kept"].any()
    assert (workdir / "results/routing/screening.json").exists()
