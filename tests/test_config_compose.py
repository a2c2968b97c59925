"""Your own config file: its studies replace the defaults', other keys fall back, --config values are typed,
and params hash the same whatever order a file lists its keys in."""
from __future__ import annotations

import re
import subprocess

import pandas as pd
import pytest
import yaml

from sovereign.config import (compose_config, load_user_config, merge_config, sorted_keys, type_cli_values,
                              validate_config)
from sovereign.errors import ConfigError
from workflow import ROOT, SNAKEMAKE, planned_jobs, snakemake

MINE = {"mine": {"question": "How much faster is INT8 than FP32 inference for ResNet-18 on x86 server CPUs?",
                 "suites": ["cnn"]}}


def _defaults() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_studies_replace_and_other_mappings_merge():
    cfg = compose_config(_defaults(), [{"studies": MINE, "screening": {"tfidf_threshold": 0.2},
                                        "devices": {"l40s": {"kind": "cuda", "gpu_name": "L40S"}}}])
    assert sorted(cfg["studies"]) == ["mine"]  # not gpu, routing, cpu too
    assert cfg["screening"]["tfidf_threshold"] == 0.2 and cfg["screening"]["drift_tfidf"] == 0.05  # merged
    assert {"cpu", "t4", "l4", "h200", "l40s"} <= set(cfg["devices"])  # devices merge: an entry is added
    assert compose_config(_defaults(), [{"bench": {"devices": ["l4"]}}])["bench"]["devices"] == ["l4"]  # lists replace
    assert validate_config(compose_config(_defaults(), [{"studies": MINE}]))["warehouse"] == "results/sovereign.duckdb"
    # a backends mapping selects what runs: the user's pairs alone, not merged into the default grid's
    grid = {"bench": {"suites": {"cnn": {"cpu": {"backends": {"torch_eager": ["fp32"]}}}}}}
    cnn = compose_config(_defaults(), [grid])["bench"]["suites"]["cnn"]
    assert cnn["cpu"]["backends"] == {"torch_eager": ["fp32"]}
    assert cnn["cpu"]["models"] == _defaults()["bench"]["suites"]["cnn"]["cpu"]["models"]  # its siblings still merge
    assert "onnxruntime" in cnn["gpu"]["backends"]  # the other grid keeps the defaults
    # the rule is the key, not the depth: a nested mapping still merges
    assert merge_config({"a": {"b": {"c": 1}}}, {"a": {"b": {"d": 2}}}) == {"a": {"b": {"c": 1, "d": 2}}}


def test_commands_apply_a_users_file_on_the_defaults(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({"bench": {"suites": {"moe_routing": {"cpu": {"batch_sizes": [3]}}}}}))
    cfg = load_user_config(mine)
    assert cfg["bench"]["suites"]["moe_routing"]["cpu"]["batch_sizes"] == [3]
    assert cfg["bench"]["suites"]["moe_routing"]["cpu"]["workloads"] == \
        _defaults()["bench"]["suites"]["moe_routing"]["cpu"]["workloads"]
    assert load_user_config() == load_user_config(ROOT / "config" / "config.yaml") == validate_config(_defaults())
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"bench": {"devices": ["nowhere"]}}))
    with pytest.raises(ConfigError, match="nowhere"):
        load_user_config(bad)


def test_cli_values_are_typed_by_the_schema():
    typed = type_cli_values({"screening": {"tfidf_threshold": "0.2"}, "warehouse": "1.5",
                             "claims": {"tables": "false"}, "literature": {"max_results": "7"}})
    assert typed["screening"]["tfidf_threshold"] == 0.2
    assert typed["warehouse"] == "1.5"  # a string key stays a string
    assert typed["claims"]["tables"] is False and typed["literature"]["max_results"] == 7
    bad = compose_config(_defaults(), [], {"screening": {"tfidf_threshold": "high"}})
    with pytest.raises(ConfigError, match="config key 'screening.tfidf_threshold': expected number"):
        validate_config(bad)


def test_sorted_keys_makes_order_irrelevant():
    a, b = {"x": 1, "y": {"p": [1, {"r": 1, "q": 2}], "o": 0}}, {"y": {"o": 0, "p": [1, {"q": 2, "r": 1}]}, "x": 1}
    assert repr(a) != repr(b) and repr(sorted_keys(a)) == repr(sorted_keys(b))
    assert sorted_keys({"l": [3, 1, 2]}) == {"l": [3, 1, 2]}  # lists keep their order


def _only_studies(workdir, studies=MINE) -> None:
    (workdir / "config.yaml").write_text(yaml.safe_dump({"studies": studies}), encoding="utf-8")


def test_a_file_with_only_studies_plans_that_study_alone(tmp_path):
    _only_studies(tmp_path)
    res = snakemake(tmp_path, "-n", timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert set(re.findall(r"wildcards: study=(\w+)", out)) == {"mine"}
    assert "results/report/mine.html" in out and "results/report/gpu.html" not in out
    # only the suite the study checks against is benchmarked (no MoE routing grid for a CNN study)
    assert "rule bench_cnn:" in out and "rule bench_moe:" not in out
    _only_studies(tmp_path, {"moe": {"question": "How does top-2 expert routing latency compare with top-1 routing?",
                                     "suites": ["moe_routing"]}})
    moe = snakemake(tmp_path, "-n", timeout=300)
    assert moe.returncode == 0 and "rule bench_moe:" in moe.stdout and "rule bench_cnn:" not in moe.stdout


def test_typed_config_value_on_the_command_line(tmp_path):
    _only_studies(tmp_path)
    res = snakemake(tmp_path, "-n", "--config", "screening={tfidf_threshold: 0.2}", timeout=300)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    bad = snakemake(tmp_path, "-n", "--config", "screening={tfidf_threshold: high}", timeout=300)
    assert bad.returncode != 0 and "config key 'screening.tfidf_threshold'" in bad.stdout + bad.stderr


@pytest.mark.slow
def test_reordered_config_file_reruns_nothing(tmp_path):
    cfg = {"studies": MINE, "embeddings": {"backend": "none"},
           "screening": {"tfidf_threshold": 0.1, "embedding_threshold": 0.3, "drift_tfidf": 0.05}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    res = snakemake(tmp_path, "results/mine/papers.parquet", timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    reordered = {"screening": dict(reversed(list(cfg["screening"].items()))), "embeddings": cfg["embeddings"],
                 "studies": cfg["studies"]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(reordered, sort_keys=False), encoding="utf-8")
    assert planned_jobs(tmp_path, "results/mine/papers.parquet") == {}
    # the case it would fail: a changed value does rerun screening
    reordered["screening"]["tfidf_threshold"] = 0.12
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(reordered, sort_keys=False), encoding="utf-8")
    assert planned_jobs(tmp_path, "results/mine/papers.parquet").get("screen_papers") == 1
