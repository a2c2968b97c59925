"""The moe_routing suite end to end on the CPU: config, workloads, a small grid, the CLI, DuckDB and Snakemake."""
from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sovereign.bench.config import DeviceSpec
from sovereign.bench.errors import BenchConfigError
from sovereign.bench.moe.config import MoeSuite, hardware_peaks, job_params, moe_jobs
from sovereign.bench.moe.runner import MoeJob, run_moe_job, write_job
from sovereign.bench.moe.workloads import VISUAL7W_TYPES, make_batch
from sovereign.bench.result import CONTRACT_COLUMNS
from sovereign.warehouse import CONTRACT, load_warehouse, query

ROOT = Path(__file__).resolve().parent.parent
FAST = {"warmup": 1, "min_iterations": 2, "max_iterations": 4, "round_iterations": 2, "time_budget_s": 0.2}
TINY = {"block": {"name": "t4e", "hidden": 32, "ffn": 64, "experts": 4, "layers": 2}, "batch_sizes": [1, 2],
        "strategies": ["topk1", "topk2", "topp0.5", "ondemand"], "phases": ["prefill", "decode"],
        "time_budget_s": 0.05, "workloads": ["vqav2"]}


@pytest.fixture()
def cfg():
    c = copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    c["bench"]["suites"]["moe_routing"].update({"timing": FAST, "cpu": TINY,
                                                "ondemand": {"k_min": 1, "k_max": 3, "virtual_cap": 0.2}})
    return c


@pytest.fixture(scope="module")
def grid_rows():
    suite = MoeSuite.from_config({"timing": FAST, "cpu": TINY, "ondemand": {"k_min": 1, "k_max": 3}})
    job = MoeJob(device=DeviceSpec(name="cpu"), workload="vqav2", suite=suite, grid=suite.cpu,
                 peaks=hardware_peaks(ROOT / "config" / "devices.yaml", "xeon6_6980p"))
    rows, report = run_moe_job(job, progress=False)
    return pd.DataFrame(rows), report


def test_default_config_builds_and_jobs_are_device_x_workload(cfg):
    suite = MoeSuite.from_config(cfg["bench"]["suites"]["moe_routing"])
    assert suite.gpu.block.hidden == 2048 and suite.gpu.dtypes == ["bf16"]
    cfg["bench"]["devices"] = ["cpu", "h200"]
    cfg["bench"]["suites"]["moe_routing"]["gpu"]["workloads"] = ["visual7w"]
    assert moe_jobs(cfg) == [{"device": "cpu", "workload": "vqav2"}, {"device": "h200", "workload": "visual7w"}]
    params = job_params(cfg, "h200")
    assert params["grid"]["block"]["name"] == "moellava_8e" and params["device"]["kind"] == "cuda"


@pytest.mark.parametrize("patch,key", [
    ({"cpu": {"strategies": ["top3"]}}, "bench.suites.moe_routing.cpu.strategies"),
    ({"cpu": {"dtypes": ["int8"]}}, "bench.suites.moe_routing.cpu.dtypes"),
    ({"cpu": {"block": {"hidden": 0}}}, "bench.suites.moe_routing.cpu.block.hidden"),
    ({"cpu": {"block": {"hiden": 8}}}, "bench.suites.moe_routing.cpu.block.hiden"),
    ({"gpu": {"batch_sizes": []}}, "bench.suites.moe_routing.gpu.batch_sizes"),
    ({"ondemand": {"k_min": 3, "k_max": 2}}, "bench.suites.moe_routing.ondemand.k_min"),
    ({"workload": {"visual_importance": [1.0]}}, "bench.suites.moe_routing.workload.visual_importance"),
    ({"colour": 1}, "bench.suites.moe_routing.colour"),
])
def test_bad_settings_name_their_key(patch, key):
    with pytest.raises(BenchConfigError, match=key.replace(".", r"\.")):
        MoeSuite.from_config(patch)


def test_workloads_are_seeded_and_shaped():
    from sovereign.bench.moe.config import WorkloadConfig

    cfg = WorkloadConfig()
    a, b = make_batch("visual7w", "prefill", 8, cfg, 0), make_batch("visual7w", "prefill", 8, cfg, 0)
    assert a.importance.tolist() == b.importance.tolist()
    assert a.tokens == 8 * 576 + int(a.question_tokens.sum()) and int(a.is_visual.sum()) == 8 * 576
    assert set(a.question_types) <= set(VISUAL7W_TYPES)
    # visual tokens matter less than text tokens on average; decode is one text token per sample
    assert a.importance[a.is_visual].mean() < a.importance[~a.is_visual].mean() - 0.2
    assert make_batch("vqav2", "decode", 16, cfg, 0).tokens == 16
    q_vqa = make_batch("vqav2", "prefill", 400, cfg, 1).question_tokens.mean()
    q_v7w = make_batch("visual7w", "prefill", 400, cfg, 1).question_tokens.mean()
    assert 6 < q_vqa < 10 < q_v7w  # short VQAv2 questions; Visual7W adds its multiple-choice options


def test_small_grid_rows_are_contract_rows(grid_rows):
    df, report = grid_rows
    assert set(CONTRACT["bench_results"]) <= set(df.columns) and set(CONTRACT_COLUMNS) == set(CONTRACT["bench_results"])
    assert len(df) == 2 * 2 * 4 * 2  # phases x batches x strategies x dispatches
    assert set(df.status) == {"ok"} and set(df.suite) == {"moe_routing"} and set(df.model) == {"t4e"}
    assert set(df.backend) == {"topk1", "topk2", "topp0.5", "ondemand"} and set(df.precision) == {"fp32"}
    assert (df.latency_ms_p50 > 0).all() and (df.throughput_ips > 0).all()
    assert (df.samples_per_s == df.throughput_ips).all()
    assert (df.agreement_rel_err <= 1e-4).all()
    assert report["device_rates"]["fp32"]["measured_matmul_tflops"] > 0
    assert (df.peak_tflops_datasheet > 0).all()  # the named device's datasheet peak came through
    assert (df.torch_threads == 1).all()  # CPU jobs run one torch thread, and the rows say so


def test_activations_per_strategy(grid_rows):
    df, _ = grid_rows
    by = df.groupby("backend")
    assert by.real_act_per_token.min()["topk1"] == by.real_act_per_token.max()["topk1"] == 1.0
    assert (df[df.backend == "topk2"].real_act_per_token == 2.0).all()
    topp = df[df.backend == "topp0.5"]
    assert ((topp.real_act_per_token >= 1) & (topp.real_act_per_token <= 4)).all()
    od = df[df.backend == "ondemand"]
    slots = od.real_act_per_token + od.virtual_act_per_token
    assert ((slots >= 1) & (slots <= 3)).all()
    assert (od.virtual_share <= 0.2 + 1e-9).all()
    assert (df[df.backend != "ondemand"].virtual_act_per_token == 0).all()
    # the same routing is counted for both dispatches
    pairs = df.pivot_table(index=["backend", "phase", "batch_size"], columns="dispatch", values="real_activations")
    assert (pairs["loop"] == pairs["grouped"]).all()


def test_flops_follow_activations(grid_rows):
    df, _ = grid_rows
    pre = df[(df.phase == "prefill") & (df.batch_size == 2) & (df.dispatch == "grouped")].set_index("backend")
    expert = 2 * 32 * 128 + 2 * 64 * 32
    diff = pre.loc["topk2", "flops"] - pre.loc["topk1", "flops"]
    extra_rows = pre.loc["topk2", "real_activations"] - pre.loc["topk1", "real_activations"]
    assert diff == pytest.approx(extra_rows * (expert + 2 * 32))
    assert (df.achieved_tflops == df.flops / (df.latency_ms_p50 / 1e3) / 1e12).all()


def test_rows_load_into_duckdb(grid_rows, tmp_path):
    df, report = grid_rows
    write_job(df.to_dict("records"), report, tmp_path / "r.parquet", tmp_path / "r.json")
    db = tmp_path / "w.duckdb"
    load_warehouse(str(db), {"bench_results": [str(tmp_path / "r.parquet")]}, "h")
    got = query(str(db), "SELECT backend, avg(real_act_per_token) AS a FROM bench_results "
                         "WHERE suite = 'moe_routing' AND dispatch = 'grouped' GROUP BY backend ORDER BY backend")
    assert got.backend.tolist() == ["ondemand", "topk1", "topk2", "topp0.5"]
    assert got.set_index("backend").a["topk2"] == 2.0


def test_cuda_device_without_gpu_is_unavailable():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    suite = MoeSuite.from_config({"gpu": {**TINY, "batch_sizes": [1]}})
    job = MoeJob(device=DeviceSpec(name="h200", kind="cuda", gpu_name="H200", gpus=1), workload="vqav2",
                 suite=suite, grid=suite.gpu)
    rows, report = run_moe_job(job, progress=False)
    assert {r["status"] for r in rows} == {"unavailable"} and "no CUDA GPU" in rows[0]["reason"]
    assert len(rows) == 2 * 4 * 2 and report["status"] == "unavailable"


def test_cli_runs_a_point(cfg, tmp_path, capsys):
    from sovereign.cli import main

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    # the file is applied on config/config.yaml (its cpu grid's model level too): --level block leaves that out
    rc = main(["moe", "--config", str(path), "--device", "cpu", "--strategies", "topk2", "--phases", "decode",
               "--batch-sizes", "3", "--dispatches", "grouped", "--level", "block", "--out", str(tmp_path / "out"),
               "--no-progress"])
    assert rc == 0
    df = pd.read_parquet(tmp_path / "out" / "cpu" / "vqav2.parquet")
    assert df[["backend", "batch_size", "dispatch", "phase", "tokens", "status"]].to_dict("records") == [
        {"backend": "topk2", "batch_size": 3, "dispatch": "grouped", "phase": "decode", "tokens": 3, "status": "ok"}]
    assert "topk2" in capsys.readouterr().out
    assert main(["moe", "--config", str(path), "--strategies", "top3", "--out", str(tmp_path / "x")]) == 1


@pytest.mark.slow
def test_snakemake_runs_bench_moe_into_the_warehouse_inputs(cfg, tmp_path):
    from workflow import snakemake, write_config

    cfg["bench"]["suites"]["moe_routing"]["cpu"].update({"strategies": ["topk2", "ondemand"], "batch_sizes": [1],
                                                         "phases": ["decode"]})
    write_config(tmp_path, cfg)
    target = "results/bench/moe_routing/cpu/vqav2.parquet"
    res = snakemake(tmp_path, target, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    df = pd.read_parquet(tmp_path / target)
    block, model = df[df.level == "block"], df[df.level == "model"]
    assert sorted(zip(block.backend, block.dispatch)) == [("ondemand", "grouped"), ("ondemand", "loop"),
                                                          ("topk2", "grouped"), ("topk2", "loop")]
    # model level: the same strategies served as requests on the small MoE-LLaVA shape, per configured batch size
    assert sorted(zip(model.backend, model.batch_size)) == [("ondemand", 1), ("ondemand", 4), ("topk2", 1), ("topk2", 4)]
    assert (model.status == "ok").all() and (model.phase == "request").all()
    assert ((model.moe_share_prefill > 0) & (model.moe_share_prefill < 1)).all()
    assert (tmp_path / "results/bench/moe_routing/cpu/vqav2.json").exists()
    # the warehouse's inputs include this suite's files
    dry = snakemake(tmp_path, "-n", "--forceall", "results/sovereign.duckdb")
    assert dry.returncode == 0 and "bench_moe" in dry.stdout + dry.stderr


def test_graph_dispatch_on_a_cpu_is_unavailable_not_faked():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    suite = MoeSuite.from_config({"timing": FAST, "cpu": {**TINY, "batch_sizes": [1], "strategies": ["topk2"],
                                                          "phases": ["decode"], "dispatches": ["grouped", "graph"]}})
    rows, _ = run_moe_job(MoeJob(device=DeviceSpec(name="cpu"), workload="vqav2", suite=suite, grid=suite.cpu), progress=False)
    got = {r["dispatch"]: (r["status"], r["latency_ms_p50"]) for r in rows}
    assert got["grouped"][0] == "ok" and got["graph"] == ("unavailable", None)
    assert "CUDA graph" in [r for r in rows if r["dispatch"] == "graph"][0]["reason"]
