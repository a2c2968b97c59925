"""GPU smoke test of the llm suite's runner: pythia-14m, all three backends, two batch sizes (prints one line a row)."""
import sys

from sovereign.bench.config import DeviceSpec
from sovereign.bench.llm.registry import load_registry
from sovereign.bench.llm.runner import LlmJob, run_llm_job
from sovereign.bench.llm.settings import LlmGrid

spec = load_registry()[sys.argv[1] if len(sys.argv) > 1 else "pythia-14m"]
dev = DeviceSpec("h200", kind="cuda", gpus=1, gpu_name="H200")
for be in ("hf_eager", "fast_decode", "hf_static_compile"):
    grid = LlmGrid(models=[spec.key], batch_sizes=[1, 8], input_lens=[64], output_lens=[32], precisions=["bf16"], key="smoke")
    rows, _ = run_llm_job(LlmJob(dev, spec, be, "bf16", grid, memory_gb=141, memory_gbs=4800), progress=False)
    for r in rows:
        print(be, r["batch_size"], r["status"], r["reason"][:120], "ttft", r.get("ttft_ms_p50"), "tpot", r.get("tpot_ms_p50"),
              "tok/s", r.get("output_tokens_per_s"), "compile_s", r.get("compile_s"), "|", r.get("outputs_check"), flush=True)
