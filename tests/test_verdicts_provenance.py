"""Measurement provenance: a row's device is the hardware it recorded, reference rows decide nothing by
default, and nothing is pooled across hardware (CPU models, compiled and eager PyTorch, memory layouts)."""
from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_verdicts_data import claim, cnn_rows, write_reference_file

from sovereign.bench.cnn import run_sweep
from sovereign.bench.env import cpu_model
from sovereign.verdicts.check import check_claims, check_frame
from sovereign.verdicts.errors import VerdictConfigError
from sovereign.verdicts.hardware import load_hardware
from sovereign.verdicts.match import Bench
from sovereign.verdicts.reference import read_reference
from sovereign.verdicts.settings import CheckConfig

ROOT = Path(__file__).resolve().parent.parent
FAST = {"warmup": 1, "min_iterations": 3, "max_iterations": 6, "round_iterations": 3, "time_budget_s": 0.5}
H200_FILES = ["cnn_resnet18_h200.csv", "cnn_resnet50_h200.csv", "cnn_channels_last_h200.csv",
              "cnn_resnet18_cpu_of_h200_host.csv", "moe_routing.parquet"]


def check(claims: list[dict], rows: pd.DataFrame | list[dict], **cfg) -> pd.DataFrame:
    conf = CheckConfig(**cfg)
    bench = Bench(pd.DataFrame(rows), load_hardware(), conf.reference_decides)
    return check_frame("gpu", pd.DataFrame(claims), None, bench, conf).set_index("claim_id")


@pytest.mark.parametrize("name,kind,want", [
    ("NVIDIA L4", "gpu", "l4"), ("Tesla T4", "gpu", "t4"), ("NVIDIA H200", "gpu", "h200"),
    ("NVIDIA A100-SXM4-80GB", "gpu", "a100"), ("NVIDIA A100-SXM4-40GB", "gpu", "a100_40gb"),
    ("NVIDIA L40S", "gpu", "l40s"), ("NVIDIA L4", "cpu", None),
    ("Intel(R) Xeon(R) CPU E5-2403 v2 @ 1.80GHz", "cpu", "xeon_e5_2403_v2"),
    ("Intel(R) Xeon(R) 6980P", "cpu", "xeon6_6980p"), ("AMD EPYC 7B13 64-Core Processor", "cpu", None)])
def test_recorded_hardware_names_resolve_to_device_specs(name, kind, want):
    spec = load_hardware().identify(name, kind)
    assert (spec.key if spec else None) == want


@pytest.mark.parametrize("env,want", [
    ({"gpu_name": "NVIDIA L4", "nvml_gpu_name": "NVIDIA L4", "driver_version": "550.54", "cpu_model": "AMD EPYC 7B13",
      "cpu_count": 8}, {"hardware": "NVIDIA L4", "hardware_kind": "gpu", "driver_version": "550.54"}),
    ({"gpu_name": "", "cpu_model": "AMD EPYC 7B13", "cpu_count": 8},
     {"hardware": "AMD EPYC 7B13", "hardware_kind": "cpu", "hardware_cores": 8, "gpu_name": ""})])
def test_every_row_records_the_hardware_that_ran_it(env, want):
    from sovereign.bench.result import CONTRACT_COLUMNS, BenchResult

    row = BenchResult("cnn", "l4", "resnet18", "torch_eager", "fp32", 1, env=dict(env, run_id="abc")).to_row()
    assert {k: row[k] for k in want} == want
    assert (row["origin"], row["run_id"]) == ("run", "abc")
    assert list(row)[:len(CONTRACT_COLUMNS)] == list(CONTRACT_COLUMNS)


@pytest.fixture(scope="module")
def l4_on_cpu(tmp_path_factory):
    """A real ResNet-18 run of a device entry named `l4` whose kind is cpu (as on the Slurm test cluster)."""
    cfg = copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    cfg["bench"]["cache_dir"] = str(tmp_path_factory.mktemp("cache"))
    cfg["bench"]["suites"]["cnn"]["agreement_batch"] = 2
    cfg["devices"]["l4"] = {"kind": "cpu", "partition": "l4", "gpu_model": "l4", "gpus": 1, "cpus": 1}
    rows = run_sweep(cfg, "l4", str(tmp_path_factory.mktemp("out")), models=["resnet18"], backends=["torch_eager"],
                     precisions=["fp32"], batch_sizes=[1], timing=FAST, config_hash="t")
    return pd.DataFrame(rows)


def test_gpu_named_entry_that_ran_on_a_cpu_records_the_cpu_and_tests_no_gpu_claim(l4_on_cpu):
    df = l4_on_cpu
    assert df[["device", "gpu_name", "hardware", "hardware_kind", "origin", "status"]].drop_duplicates().to_dict(
        "records") == [{"device": "l4", "gpu_name": "", "hardware": cpu_model(), "hardware_kind": "cpu",
                        "origin": "run", "status": "ok"}]
    assert (df["hardware_cores"] == os.cpu_count()).all() and re.fullmatch(r"[0-9a-f]{12}", df["run_id"].iloc[0])
    measured = float(df["throughput_ips"].iloc[0])
    claims = [claim("a", "p1", "ResNet-18 on the L4 reaches this many images/s.", kind="absolute",
                    metric="throughput", value=measured, unit="images/s", subject_device="l4",
                    subject_model="resnet18"),
              claim("r", "p1", "The L4 is 2x the T4.", kind="ratio", metric="throughput", value=2.0, unit="x",
                    subject_device="l4", baseline_device="t4")]
    got = check(claims, df)
    assert (got["status"] == "UNTESTABLE").all()
    assert got.loc["a", "reason"].startswith(f"rows for 'l4' ran on {cpu_model()}, not an NVIDIA L4")
    assert got.loc["r", "reason"].startswith(f"rows for 'l4' ran on {cpu_model()}, not an NVIDIA L4")
    # the same rows, had NVML reported an L4, would test the claim: the hardware record decides, not the name
    as_l4 = df.assign(hardware="NVIDIA L4", hardware_kind="gpu", gpu_name="NVIDIA L4")
    again = check(claims[:1], as_l4).loc["a"]
    assert again["status"] == "REPRODUCED"
    assert [(u["device"], u["hardware"], u["origin"]) for u in json.loads(again["bench_rows"])] == \
        [("l4", "NVIDIA L4", "run")]


H200_CLAIM = claim("h", "p1", "The H200 reaches up to 60,000 images/s on ResNet-18.", kind="absolute",
                   metric="throughput", value=60000, unit="images/s", qualifier="up_to", subject_device="h200",
                   subject_model="resnet18")


def test_reference_rows_decide_no_claim_by_default_and_do_with_the_opt_in(tmp_path):
    ref = pd.read_parquet(write_reference_file(tmp_path / "h200", "h200.csv", cnn_rows("h200", 30.0)))
    assert set(ref["origin"]) == {"reference"} and ref["run_id"].isna().all()
    rows = pd.concat([pd.DataFrame(cnn_rows("l4", 4.0)), ref], ignore_index=True)
    got = check([H200_CLAIM], rows).loc["h"]
    assert got["status"] == "UNTESTABLE" and pd.isna(got["measured_value"])
    assert got["reason"].startswith("only reference rows match (reference measurement of 2026-11-29T05:50:45Z "
                                    "(h200.csv)); reference rows decide no claim unless verdicts.reference_decides")
    assert json.loads(got["bench_rows"]) == []
    opted = check([H200_CLAIM], rows, reference_decides=True).loc["h"]
    assert opted["status"] == "REPRODUCED" and opted["measured_value"] == pytest.approx(59765.625)
    assert f"reference measurement of 2026-11-29T05:50:45Z ({tmp_path / 'h200' / 'h200.csv'})" in opted["reason"]
    used = json.loads(opted["bench_rows"])
    assert used == [{"key": "cnn/h200/resnet18/torch_eager/fp16/b64@h200.csv", "origin": "reference",
                     "hardware": "NVIDIA H200", "device": "h200", "file": str(tmp_path / "h200" / "h200.csv"),
                     "date": "2026-11-29T05:50:45Z", "commit": "e3f23cab1c9fe231f1495bcf53a02fec238ebab6"}]
    # a row this run measured always decides, and its reason names no reference measurement
    run_rows = pd.concat([rows, pd.DataFrame(cnn_rows("h200", 30.0))], ignore_index=True)
    own = check([H200_CLAIM], run_rows).loc["h"]
    assert own["status"] == "REPRODUCED" and "reference measurement" not in own["reason"]
    assert {u["origin"] for u in json.loads(own["bench_rows"])} == {"run"}


def test_check_claims_stage_reads_reference_rows_only_when_given(tmp_path):
    from sovereign.io import write_parquet

    write_parquet(tmp_path / "claims.parquet", pd.DataFrame([H200_CLAIM]))
    write_parquet(tmp_path / "l4.parquet", pd.DataFrame(cnn_rows("l4", 4.0)))
    ref = write_reference_file(tmp_path / "h200", "h200.parquet", cnn_rows("h200", 30.0))
    args = ("gpu", str(tmp_path / "claims.parquet"), None, [str(tmp_path / "l4.parquet")], str(tmp_path / "o.parquet"),
            ["cnn"])
    assert check_claims(*args).loc[0, "reason"].startswith("no h200 results")
    assert check_claims(*args, reference_paths=[ref]).loc[0, "status"] == "UNTESTABLE"
    decided = check_claims(*args, cfg={"reference_decides": True}, reference_paths=[ref]).loc[0]
    assert decided["status"] == "REPRODUCED" and "reference measurement of 2026-11-29T05:50:45Z" in decided["reason"]
    assert decided["evidence_devices"] == "h200,l4"


def test_reference_file_without_date_or_commit_is_refused_naming_it(tmp_path):
    src = tmp_path / "old.csv"
    pd.DataFrame(cnn_rows("h200", 30.0)).to_csv(src, index=False)
    with pytest.raises(VerdictConfigError, match=r"old\.csv records no date or commit; add files\.old\.csv"):
        read_reference([str(src)])
    with pytest.raises(VerdictConfigError, match=r"verdicts\.reference_results.*missing\.csv does not exist"):
        read_reference([str(tmp_path / "missing.csv")])
    with pytest.raises(VerdictConfigError, match=r"verdicts\.reference_results"):
        CheckConfig(reference_results="benchmarks/results/h200/cnn_resnet18_h200.csv")


def test_committed_h200_files_read_as_dated_reference_rows():
    folder = ROOT / "benchmarks" / "results" / "h200"
    df = read_reference([str(folder / f) for f in H200_FILES])
    assert set(df["origin"]) == {"reference"}
    dates = df.groupby(df["reference_file"].map(lambda p: Path(p).name))["reference_date"].first().to_dict()
    assert dates == {"cnn_channels_last_h200.csv": "2026-11-29T06:00:56Z", "cnn_resnet18_h200.csv": "2026-11-29T05:50:45Z",
                     "cnn_resnet50_h200.csv": "2026-11-29T05:52:13Z", "cnn_resnet18_cpu_of_h200_host.csv":
                     "2026-11-29T05:55:13Z", "moe_routing.parquet": "2026-11-29T05:47:00Z"}
    hw = df.groupby("hardware_kind")["hardware"].agg(lambda s: sorted(set(s))).to_dict()
    assert hw == {"cpu": ["Intel(R) Xeon(R) Processor"], "gpu": ["NVIDIA H200"]}
    assert df["reference_commit"].str.fullmatch(r"[0-9a-f]{40}").all()


def _cpu_rows(model_name: str, scale: float) -> list[dict]:
    return [dict(r, hardware=model_name, cpu_model=model_name) for r in cnn_rows("cpu", scale, precisions=("fp32",))]


SPEEDUP = claim("s", "p1", "FP16 is up to 160x a CPU baseline.", kind="ratio", metric="speedup", value=160, unit="x",
                qualifier="up_to", subject_device="l4", subject_precision="fp16", baseline_device="cpu")


def test_cpu_baseline_ratio_uses_one_cpu_model_at_a_time():
    rows = cnn_rows("l4", 4.0) + _cpu_rows("Intel Xeon Slow", 0.05) + _cpu_rows("AMD EPYC Fast", 0.5)
    got = check([SPEEDUP], rows).loc["s"]
    # 160x over the slow CPU, 16x over the fast one; pooling the two would take the faster CPU's rows (16x)
    assert got["status"] == "REPRODUCED" and got["measured_value"] == pytest.approx(160.0)
    assert "against AMD EPYC Fast: NOT_REPRODUCED, measured 16x" in got["reason"]
    assert "against Intel Xeon Slow: REPRODUCED, measured 160x" in got["reason"]
    used = json.loads(got["bench_rows"])
    assert {u["hardware"] for u in used} == {"NVIDIA L4", "Intel Xeon Slow"}
    # with the fast CPU alone the claim fails: the per-CPU result is not a best-of over every CPU
    alone = check([SPEEDUP], cnn_rows("l4", 4.0) + _cpu_rows("AMD EPYC Fast", 0.5)).loc["s"]
    assert alone["status"] == "NOT_REPRODUCED" and alone["measured_value"] == pytest.approx(16.0)
    # a ratio on "the CPU" (both sides CPU rows) compares each CPU with itself: INT8 is 3x FP32 on each
    on_cpu = claim("i", "p1", "INT8 is 3x FP32 on the CPU.", kind="ratio", metric="throughput", value=3.0, unit="x",
                   subject_device="cpu", subject_precision="int8", baseline_device="cpu", baseline_precision="fp32")
    int8 = [dict(r, precision="int8", throughput_ips=r["throughput_ips"] * 3) for r in
            _cpu_rows("Intel Xeon Slow", 0.05) + _cpu_rows("AMD EPYC Fast", 0.5)]
    got = check([on_cpu], int8 + _cpu_rows("Intel Xeon Slow", 0.05) + _cpu_rows("AMD EPYC Fast", 0.5)).loc["i"]
    assert got["status"] == "REPRODUCED" and got["measured_value"] == pytest.approx(3.0)
    assert "against AMD EPYC Fast: REPRODUCED, measured 3x" in got["reason"]
    assert "against Intel Xeon Slow: REPRODUCED, measured 3x" in got["reason"]
    # a claim naming its CPU uses that CPU's rows only
    named = dict(SPEEDUP, claim_id="n", baseline_device="xeon e5-2403 v2")
    rows = cnn_rows("l4", 4.0) + _cpu_rows("Intel(R) Xeon(R) CPU E5-2403 v2 @ 1.80GHz", 0.5) + \
        _cpu_rows("Intel Xeon Slow", 0.05)
    got = check([named], rows).loc["n"]
    assert got["measured_value"] == pytest.approx(16.0) and "per CPU" not in got["reason"]


def test_compiled_pytorch_answers_only_claims_about_compilation():
    rows = cnn_rows("l4", 4.0) + cnn_rows("l4", 8.0, backend="torch_compile")
    eager = claim("e", "p1", "PyTorch on the L4 reaches up to 16,000 images/s.", kind="absolute", metric="throughput",
                  value=16000, unit="images/s", qualifier="up_to", subject_device="l4", subject_backend="pytorch",
                  subject_model="resnet18")
    compiled = dict(eager, claim_id="c", sentence="With torch.compile, PyTorch on the L4 reaches up to 16,000 images/s.")
    got = check([eager, compiled], rows)
    assert got.loc["e", "status"] == "NOT_REPRODUCED" and got.loc["e", "measured_value"] == pytest.approx(7968.75)
    assert got.loc["c", "status"] == "REPRODUCED" and "/torch_compile/" in got.loc["c", "bench_rows"]


def test_memory_format_is_a_dimension_the_best_over_names():
    rows = [dict(r, memory_format="nchw") for r in cnn_rows("l4", 4.0, precisions=("fp16",))] + \
        [dict(r, memory_format="channels_last") for r in cnn_rows("l4", 5.0, precisions=("fp16",))]
    c = claim("m", "p1", "The L4 reaches up to 10,000 images/s in FP16.", kind="absolute", metric="throughput",
              value=10000, unit="images/s", qualifier="up_to", subject_device="l4", subject_precision="fp16",
              subject_model="resnet18")
    got = check([c], rows).loc["m"]
    assert got["status"] == "REPRODUCED"
    assert "best over batch (1-64); setting (memory_format=channels_last, memory_format=nchw)" in got["reason"]
    ratio = claim("f", "p1", "FP16 is 2x FP32 on the L4.", kind="ratio", metric="throughput", value=2.0, unit="x",
                  subject_device="l4", subject_precision="fp16", baseline_precision="fp32")
    both = [dict(r, memory_format="nchw") for r in cnn_rows("l4", 4.0)] + \
        [dict(r, memory_format="channels_last") for r in cnn_rows("l4", 5.0, precisions=("fp32",))]
    # paired within one layout: FP16 NCHW against FP32 NCHW (2x), never against the faster channels-last FP32
    got = check([ratio], both).loc["f"]
    assert got["measured_value"] == pytest.approx(2.0) and "setting" in got["reason"]


def test_warehouse_holds_this_runs_rows_beside_the_h200_reference_rows(l4_on_cpu, tmp_path):
    from sovereign.bench.result import rows_frame
    from sovereign.io import write_parquet
    from sovereign.verdicts.reference import write_reference
    from sovereign.verdicts.views import verdict_views
    from sovereign.warehouse import load_warehouse, query

    run = tmp_path / "run.parquet"
    write_parquet(run, rows_frame(l4_on_cpu.to_dict("records")))
    folder = ROOT / "benchmarks" / "results" / "h200"
    ref = tmp_path / "reference.parquet"
    write_reference([str(folder / f) for f in H200_FILES], str(ref))
    db = str(tmp_path / "w.duckdb")
    load_warehouse(db, {"bench_results": [str(run), str(ref)]}, "t", views=verdict_views())
    got = query(db, "SELECT origin, hardware_kind, count(*) AS n, count(DISTINCT hardware) AS hw, "
                    "count(reference_date) AS dated FROM bench_results GROUP BY ALL ORDER BY ALL").to_dict("records")
    assert got == [{"origin": "reference", "hardware_kind": "cpu", "n": 6, "hw": 1, "dated": 6},
                   {"origin": "reference", "hardware_kind": "gpu", "n": 793, "hw": 1, "dated": 793},
                   {"origin": "run", "hardware_kind": "cpu", "n": 1, "hw": 1, "dated": 0}]
    # the speed-up view divides by this run's CPU rows only, one CPU model at a time
    cpus = query(db, "SELECT DISTINCT cpu_hardware FROM speedup_vs_cpu")
    assert set(cpus.cpu_hardware) <= {cpu_model()}
