"""The llm suite: registry, shapes, timing definitions, output check against hf_eager, oom/unavailable rows, Snakemake."""
from __future__ import annotations

import copy
import os

import pandas as pd
import pytest
import torch

from sovereign.bench.config import DeviceSpec, stable_hash
from sovereign.bench.errors import BenchConfigError
from sovereign.bench.llm.backends import FastDecode, make_backend
from sovereign.bench.llm.build import build_model, count_params
from sovereign.bench.llm.declaration import declaration
from sovereign.bench.llm.registry import RegistryError, load_registry, resolve
from sovereign.bench.llm.runner import LlmJob, run_llm_job
from sovereign.bench.llm.scenario import RequestTimes, compare_outputs, summarise
from sovereign.bench.llm.settings import LlmGrid, LlmSuite, job_params, llm_jobs

REG = load_registry()
TINY = dict(models=["pythia-14m"], batch_sizes=[1, 2], input_lens=[8], output_lens=[6], warmup=1, iterations=3,
            prefill_iterations=2, compile=False, check_batch=2, check_tokens=4)


@pytest.mark.parametrize("spelling,key", [
    ("Llama-2-7B", "llama-2-7b"), ("Llama 2 7B", "llama-2-7b"), ("llama2-7b", "llama-2-7b"), ("LLaMA-2 7B", "llama-2-7b"),
    ("meta-llama/Llama-2-13b-chat-hf", "llama-2-13b"), ("Llama-2-70B", "llama-2-70b"), ("Mistral 7B", "mistral-7b"),
    ("Mixtral 8x7B", "mixtral-8x7b"), ("Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b"), ("Llama-3.1-8B", "llama-3.1-8b"),
    ("Llama 3.1 8B", "llama-3.1-8b"), ("Llama-3-70B", "llama-3-70b"), ("GPT-2", "gpt2"), ("GPT-2 XL", "gpt2-xl"),
    ("OPT-13B", "opt-13b"), ("opt-1.3b", "opt-1.3b"), ("Falcon-40B", "falcon-40b"), ("Qwen2-7B", "qwen2-7b"),
    # a family with a size the registry lacks, and an unknown model, resolve to nothing (never a guess)
    ("Llama-2-34B", None), ("LLaMA 7B", None), ("Llama 3.1 405B", None), ("BLOOM-176B", None), ("", None),
])
def test_registry_spellings(spelling, key):
    spec = resolve(spelling)
    assert (spec.key if spec else None) == key


def _rounding(published: float) -> float:
    """Half a unit in the last digit of a published figure (13.0 -> 0.05, 0.124 -> 0.0005)."""
    text = repr(published)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10 ** -decimals


@pytest.mark.parametrize("key", sorted(REG))
def test_registry_shapes_give_the_published_parameter_count(key):
    spec = REG[key]
    built = count_params(spec)  # transformers' own class on the meta device
    assert built == spec.params
    published = spec.published_params_b * 1e9
    # within 1%, or within the rounding of the published figure when it is coarser (OPT's "1.3B")
    assert abs(built - published) <= max(0.01 * published, _rounding(spec.published_params_b) * 1e9), (built, published)


def test_registry_entry_errors_name_the_key(tmp_path):
    bad = tmp_path / "models.yaml"
    bad.write_text("models:\n  x-1b: {family: llama, size: 1B, hidden: 64, layers: 2, heads: 4, kv_heads: 3,"
                   " ffn: 128, vocab: 100, max_context: 64}\n")
    with pytest.raises(RegistryError, match=r"models.x-1b: heads must divide hidden and kv_heads must divide heads"):
        load_registry(bad)
    bad.write_text("models:\n  y: {family: llama, size: 1B}\n")
    with pytest.raises(RegistryError, match=r"models.y: missing hidden"):
        load_registry(bad)


def test_timing_definitions():
    r = RequestTimes([10.0, 12.0, 15.0, 19.0])
    assert (r.ttft_ms, r.e2e_ms) == (10.0, 19.0)
    assert r.tpot_ms == pytest.approx((19.0 - 10.0) / 3)
    assert r.itl_ms == [2.0, 3.0, 4.0]  # gaps between tokens; the TTFT is never one of them


def test_percentiles_are_null_with_too_few_samples():
    few = summarise("itl_ms", [1.0] * 9)
    assert few["itl_ms_p50"] == 1.0 and few["itl_ms_p90"] is None and few["itl_ms_p99"] is None
    assert "p90 needs 10 samples" in few["itl_ms_note"]
    enough = summarise("itl_ms", list(map(float, range(100))))
    assert enough["itl_ms_p90"] == pytest.approx(89.1) and enough["itl_ms_p99"] == pytest.approx(98.01)
    assert enough["itl_ms_note"] == ""


@pytest.fixture(scope="module")
def tiny_model():
    return build_model(REG["pythia-14m"], "fp32", "cpu", seed=0)


def _job(backend, **grid):
    return LlmJob(DeviceSpec("cpu"), REG["pythia-14m"], backend, "fp32", LlmGrid(**{**TINY, **grid}))


@pytest.mark.parametrize("backend", ["hf_eager", "fast_decode"])
def test_rows_time_forced_lengths_and_compare_with_hf_eager(backend, tiny_model):
    rows, report = run_llm_job(_job(backend), progress=False, model=tiny_model)
    df = pd.DataFrame(rows)
    assert list(zip(df.batch_size, df.status)) == [(1, "ok"), (2, "ok")] and report["status"] == "done"
    assert set(df.suite) == {"llm"} and set(df.model_family) == {"gpt_neox"} and set(df.output_len) == {6}
    for r in rows:
        # TPOT, e2e and TTFT agree with one another; output tokens/s counts batch x forced length
        assert r["e2e_ms_p50"] >= r["ttft_ms_p50"] > 0 and r["tpot_ms_p50"] > 0
        assert r["output_tokens_per_s"] == pytest.approx(r["batch_size"] * 6 / (r["e2e_ms_p50"] / 1e3))
        assert r["latency_ms_p50"] == r["e2e_ms_p50"] and r["iterations"] == 3
        assert r["itl_ms_p90"] is not None and r["ttft_ms_p90"] is None  # 15 gaps vs 3 requests
        assert r["hardware_kind"] == "cpu" and r["protocol"] == "llm_generate"
        assert (r["threads_used"], r["cores_present"]) == (torch.get_num_threads(), os.cpu_count())
        assert r["outputs_match"] is True
        # one pass of requests, no agreeing repeats: never called stable or confirmed, and the row says why
        assert r["stable"] is False and r["confirmed"] is False and "no repeats" in r["confirm_note"]
    if backend == "fast_decode":
        assert df.outputs_check.str.startswith("greedy tokens equal to hf_eager").all()
        assert not df.decode_compiled.any() and "eagerly" in df.backend_note.iloc[0]
    else:
        assert set(df.outputs_check) == {"hf_eager is the reference"}


def test_backends_generate_exactly_the_forced_length(tiny_model):
    ids = torch.randint(0, 100, (2, 5))
    eos = int(make_backend("hf_eager", tiny_model, "cpu").prefill(ids)[0])
    tiny_model.generation_config.eos_token_id = eos  # the first greedy token is EOS: generation must go on
    try:
        for name in ("hf_eager", "fast_decode"):
            from sovereign.bench.llm.backends import TokenClock

            be = make_backend(name, tiny_model, "cpu", compile=False)
            be.prepare(2, 5, 7)
            clock = TokenClock("cpu", 7)
            tokens, _ = be.generate(ids, 7, clock)
            assert tokens.shape == (2, 7) and len(clock.marks_ms()) == 7, name
    finally:
        tiny_model.generation_config.eos_token_id = None


class WrongTokens(FastDecode):
    """A deliberately broken backend: every token after the first is shifted by one."""

    def generate(self, ids, output_len, clock, keep_logits=0):
        tokens, logits = super().generate(ids, output_len, clock, keep_logits)
        shifted = (tokens[:, 1:] + 1) % self.model.config.vocab_size
        return torch.cat([tokens[:, :1], shifted], dim=1), logits


def test_a_wrong_backend_output_is_detected(tiny_model):
    rows, _ = run_llm_job(_job("fast_decode"), progress=False, model=tiny_model,
                          backend_factory=lambda n, m, d, c: WrongTokens(m, d, c))
    assert [r["status"] for r in rows] == ["error", "error"]
    assert all(r["outputs_match"] is False for r in rows)
    assert all(r["reason"].startswith("outputs disagree with hf_eager: greedy tokens differ from hf_eager at step 1")
               for r in rows)


def test_compare_outputs_accepts_a_near_tie_only():
    ref = [torch.tensor([[0.0, 5.0, 1.0]]), torch.tensor([[3.0, 2.999, 0.0]])]
    ours = [torch.tensor([[0.0, 5.0, 1.0]]), torch.tensor([[2.998, 3.0, 0.0]])]
    ok, text = compare_outputs(torch.tensor([[1, 1]]), ours, torch.tensor([[1, 0]]), ref, "bf16")
    assert ok and "near-tie" in text
    far = [ref[0], torch.tensor([[0.0, 9.0, 0.0]])]
    ok, text = compare_outputs(torch.tensor([[1, 1]]), far, torch.tensor([[1, 0]]), ref, "bf16")
    assert not ok and "differ from hf_eager at step 1" in text


def test_a_model_that_cannot_fit_is_an_oom_row_not_a_crash():
    job = LlmJob(DeviceSpec("cpu", mem_mb=4000), REG["llama-2-70b"], "fast_decode", "bf16",
                 LlmGrid(**{**TINY, "models": ["llama-2-70b"]}))
    rows, report = run_llm_job(job, progress=False)
    assert [r["status"] for r in rows] == ["oom", "oom"] and report["status"] == "oom"
    assert rows[0]["reason"].startswith("does not fit: weights 137.95 GB (68.98B x 2 B, bf16) + KV cache")
    assert "> 4000 MB the job may use (devices.cpu.mem_mb)" in rows[0]["reason"]
    assert rows[0]["weights_gb"] == pytest.approx(137.95, abs=0.01)


def test_an_allocation_failure_during_a_point_is_an_oom_row(tiny_model):
    class Exhausted(FastDecode):
        def generate(self, *a, **k):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    rows, _ = run_llm_job(_job("fast_decode"), progress=False, model=tiny_model,
                          backend_factory=lambda n, m, d, c: Exhausted(m, d, c))
    assert [r["status"] for r in rows] == ["oom", "oom"] and "out of memory" in rows[0]["reason"]


def test_unavailable_backends_are_rows_with_the_reason(tiny_model):
    rows, _ = run_llm_job(_job("hf_static_compile"), progress=False, model=tiny_model)
    assert [r["status"] for r in rows] == ["unavailable", "unavailable"]
    assert rows[0]["reason"].startswith("compile is off for this grid")
    gpu = LlmJob(DeviceSpec("l4", kind="cuda", gpus=1, gpu_name="L4"), REG["pythia-14m"], "fast_decode", "fp16",
                 LlmGrid(**TINY))
    if not torch.cuda.is_available():
        rows, _ = run_llm_job(gpu, progress=False)
        assert {r["status"] for r in rows} == {"unavailable"} and "torch sees no CUDA GPU" in rows[0]["reason"]


def test_settings_errors_name_the_key():
    with pytest.raises(BenchConfigError, match=r"'bench.suites.llm.cpu.models': 'llama-9b' is not in config/models.yaml"):
        LlmSuite.from_config({"cpu": {"models": ["llama-9b"]}})
    with pytest.raises(BenchConfigError, match=r"'bench.suites.llm.gpu.output_lens': TPOT needs at least 2"):
        LlmSuite.from_config({"gpu": {"output_lens": [1]}})
    with pytest.raises(BenchConfigError, match=r"'bench.suites.llm.cpu.beams': not a known setting"):
        LlmSuite.from_config({"cpu": {"beams": 4}})


def test_jobs_and_their_params_hash_stably(base_config):
    cfg = copy.deepcopy(base_config)
    jobs = llm_jobs(cfg)
    assert {"device": "cpu", "model": "pythia-14m", "backend": "fast_decode", "precision": "fp32"} in jobs
    h = stable_hash(job_params(cfg, "cpu", "pythia-14m"))
    assert h == stable_hash(job_params(copy.deepcopy(cfg), "cpu", "pythia-14m"))
    other = copy.deepcopy(cfg)
    other["bench"]["suites"]["llm"]["gpu"]["batch_sizes"] = [1, 2, 4]  # another kind's grid: this job keeps its hash
    assert stable_hash(job_params(other, "cpu", "pythia-14m")) == h
    other["bench"]["suites"]["llm"]["cpu"]["batch_sizes"] = [1, 8]
    assert stable_hash(job_params(other, "cpu", "pythia-14m")) != h


def test_declaration_names_columns_the_rows_have(tiny_model):
    rows, _ = run_llm_job(_job("fast_decode", batch_sizes=[1]), progress=False, model=tiny_model)
    decl = declaration()
    assert decl["suite"] == "llm" and "vllm" in decl["not_runnable"]
    missing = [c for c, _unit in decl["metrics"].values() if c not in rows[0]]
    missing += [c for c in decl["claim_fields"].values() if c not in rows[0]]
    assert missing == []


@pytest.mark.slow
def test_bench_llm_job_runs_through_snakemake(tmp_path, base_config):
    from workflow import snakemake, write_config

    cfg = copy.deepcopy(base_config)
    cfg["bench"]["devices"] = ["cpu"]
    cfg["bench"]["suites"]["llm"]["cpu"].update(batch_sizes=[1], input_lens=[8], output_lens=[4], iterations=2,
                                                prefill_iterations=2)
    write_config(tmp_path, cfg)
    targets = [f"results/bench/llm/cpu/pythia-14m__{b}__fp32.parquet" for b in ("hf_eager", "fast_decode")]
    res = snakemake(tmp_path, *targets, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    df = pd.concat([pd.read_parquet(tmp_path / t) for t in targets])
    assert list(zip(df.backend, df.status)) == [("hf_eager", "ok"), ("fast_decode", "ok")]
    assert df[["ttft_ms_p50", "tpot_ms_p50", "output_tokens_per_s"]].notna().all().all()
    assert (tmp_path / "results/logs/bench_llm/cpu/pythia-14m__fast_decode__fp32.log").exists()
    again = snakemake(tmp_path, "-n", *targets)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_moe_rows_record_the_expert_load():
    from sovereign.bench.llm.registry import ModelSpec

    moe = ModelSpec(key="tiny-moe", family="mixtral", version="", size="tiny", hidden=64, layers=2, heads=4, kv_heads=2,
                    ffn=96, vocab=256, max_context=128, n_experts=4, top_k=2)
    job = LlmJob(DeviceSpec("cpu"), moe, "fast_decode", "fp32", LlmGrid(**{**TINY, "batch_sizes": [2]}))
    rows, _ = run_llm_job(job, progress=False, model=build_model(moe, "fp32", "cpu"))
    assert rows[0]["status"] == "ok" and (rows[0]["n_experts"], rows[0]["top_k"]) == (4, 2)
    import json

    shares = json.loads(rows[0]["expert_load"])
    assert len(shares) == 4 and sum(shares) == pytest.approx(1.0, abs=1e-3)


def test_the_module_command_applies_a_partial_config_on_the_defaults(tmp_path, capsys):
    from sovereign.bench.llm.__main__ import main

    mine = tmp_path / "mine.yaml"  # only what changes: every other key comes from config/config.yaml
    mine.write_text("bench:\n  suites:\n    llm:\n      cpu: {batch_sizes: [2], output_lens: [4], iterations: 2, "
                    "prefill_iterations: 1}\n", encoding="utf-8")
    rc = main(["--config", str(mine), "--model", "pythia-14m", "--backend", "hf_eager", "--out", str(tmp_path / "out")])
    assert rc == 0, capsys.readouterr().err
    df = pd.read_parquet(tmp_path / "out" / "pythia-14m__hf_eager__fp32.parquet")
    assert list(zip(df.batch_size, df.input_len, df.output_len, df.status)) == [(2, 32, 4, "ok")]  # input 32: default
    assert main(["--config", str(tmp_path / "absent.yaml"), "--model", "pythia-14m", "--out", str(tmp_path)]) == 1
    assert "absent.yaml not found" in capsys.readouterr().err
