"""benchmarks/bench_gpu_speed.py on the CPU at tiny sizes: rows, agreement, refusals, profile and the protocol table."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_script():
    spec = importlib.util.spec_from_file_location("bench_gpu_speed", ROOT / "benchmarks" / "bench_gpu_speed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_speed_and_protocol_modes_run_on_a_cpu(tmp_path, capsys):
    script = load_script()
    out = tmp_path / "out"
    rc = script.main(["--mode", "both", "--out", str(out), "--precisions", "fp32", "--variants", "eager,cudagraph_cl",
                      "--batches", "2", "--image-size", "32", "--warmup", "1", "--min-iterations", "3",
                      "--max-iterations", "6", "--time-budget-s", "0.5", "--profile-iterations", "1",
                      "--protocol-batches", "1", "--deepgap-warmup", "0", "--deepgap-iterations", "4",
                      "--deepgap-repeats", "2"])
    assert rc == 0
    rows = {r["variant"]: r for r in json.loads((out / "speed.json").read_text())}
    eager = rows["eager"]
    assert eager["status"] == "ok" and eager["batch_size"] == 2 and eager["images_per_s"] > 0
    assert eager["rel_err_vs_fp32"] < 1e-5 and eager["memory_format"] == "nchw" and eager["cuda_graphs"] is False
    assert rows["cudagraph_cl"]["status"] == "unavailable"
    assert "CUDA graphs need a CUDA device" in rows["cudagraph_cl"]["reason"]
    prof = json.loads((out / "profile.json").read_text())
    assert prof["variant"] == "eager" and prof["top"] and abs(sum(k["share"] for k in prof["top"]) - 1) < 0.2
    assert any("conv" in k["name"] for k in prof["top"])
    proto = json.loads((out / "protocols.json").read_text())
    assert [(r["model"], r["precision"], r["batch_size"], r["status"]) for r in proto] == [("resnet18", "fp32", 1, "ok")]
    assert proto[0]["deepgap_iterations"] == 8 and proto[0]["deepgap_over_stable"] > 0
    printed = capsys.readouterr().out
    assert "stable ips" in printed and "deepgap ips" in printed and "images/s" in printed
    env = json.loads((out / "env.json").read_text())
    assert env["env"]["cpu_isa"] is not None and (out / "bench_gpu_speed.log").exists()
