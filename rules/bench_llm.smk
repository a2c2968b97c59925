# bench_llm: the llm suite (whole transformer models from config/models.yaml, random weights), one job
# per device x model x backend x precision (for the devices in bench.devices), each sweeping its grid's
# batch sizes, input and output lengths. GPU jobs carry the Slurm placement of their device entry.
from collections import defaultdict

from sovereign.bench.config import stable_hash
from sovereign.bench.errors import BenchConfigError
from sovereign.bench.llm.settings import job_params as llm_job_params, llm_jobs

try:
    BENCH_LLM_JOBS = llm_jobs(config)
except BenchConfigError as exc:
    raise WorkflowError(str(exc)) from None
if not suite_runs("llm"):  # no study checks against it (rules/common.smk)
    BENCH_LLM_JOBS = []
BENCH_LLM_STEM = "results/bench/llm/{device}/{model}__{backend}__{precision}"
BENCH_LLM_FILES = [f"{BENCH_LLM_STEM}.parquet".format(**j) for j in BENCH_LLM_JOBS]
# earlier runs' other devices, as in rules/bench.smk
BENCH_LLM_MEASURED = measured_files("results/bench/llm", BENCH_LLM_FILES, BENCH_DEVICES)
BENCH_LLM_SPECS = (config.get("verdicts") or {}).get("devices_file") or os.path.join(
    workflow.basedir, "config", "devices.yaml"
)
BENCH_LLM_DEVICES = defaultdict(lambda: {"kind": "cpu"}, config.get("devices") or {})


rule bench_llm:
    output:
        rows=f"{BENCH_LLM_STEM}.parquet",
        env=f"{BENCH_LLM_STEM}.json",
    log:
        "results/logs/bench_llm/{device}/{model}__{backend}__{precision}.log",
    benchmark:
        "results/benchmarks/bench_llm/{device}/{model}__{backend}__{precision}.tsv"
    wildcard_constraints:
        device=device_pattern(BENCH_DEVICES),
        model="[a-z0-9][a-z0-9._-]*",
        backend="hf_eager|hf_static_compile|fast_decode",
        precision="fp32|fp16|bf16",
    conda:
        # BENCH_ENVS: rules/bench.smk
        lambda wc: BENCH_ENVS[BENCH_LLM_DEVICES[wc.device]["kind"]]
    threads: lambda wc: BENCH_LLM_DEVICES[wc.device].get("cpus", 2)
    resources:
        gpu=lambda wc: BENCH_LLM_DEVICES[wc.device].get("gpus", 0),
        gpu_model=lambda wc: (
            BENCH_LLM_DEVICES[wc.device].get("gpu_model", "") if BENCH_LLM_DEVICES[wc.device].get("gpus", 0) else ""
        ),
        slurm_partition=lambda wc: BENCH_LLM_DEVICES[wc.device].get("partition", ""),
        runtime=lambda wc: BENCH_LLM_DEVICES[wc.device].get("runtime_min", 60),
        mem_mb=lambda wc: BENCH_LLM_DEVICES[wc.device].get("mem_mb", 4000),
        cpus_per_task=lambda wc: BENCH_LLM_DEVICES[wc.device].get("cpus", 2),
    params:
        job=lambda wc: llm_job_params(config, wc.device, wc.model, BENCH_LLM_SPECS),
        config_hash=lambda wc: stable_hash(llm_job_params(config, wc.device, wc.model, BENCH_LLM_SPECS)),
    script:
        "../scripts/bench_llm.py"


# Chain whatever the other bench rules registered, so every suite's rows reach bench_results.
WAREHOUSE_INPUTS["bench_results"] = (
    lambda wc, prev=WAREHOUSE_INPUTS.get("bench_results"): (prev(wc) if prev else [])
    + BENCH_LLM_FILES
    + BENCH_LLM_MEASURED
)
