# bench_moe: the moe_routing suite, one job per device x workload (for the devices in
# bench.devices), each sweeping its grid's dtypes, phases, batch sizes, routing strategies
# and dispatches. GPU jobs carry the Slurm placement of their device entry as resources.
from sovereign.bench.config import stable_hash
from sovereign.bench.moe.config import hardware_peaks, job_params as moe_job_params, moe_jobs
from sovereign.bench.errors import BenchConfigError

try:
    BENCH_MOE_JOBS = moe_jobs(config)
except BenchConfigError as exc:
    raise WorkflowError(str(exc)) from None
BENCH_MOE_STEM = "results/bench/moe_routing/{device}/{workload}"


def _moe_params(wc):
    specs = (config.get("verdicts") or {}).get("devices_file") or os.path.join(workflow.basedir, "config", "devices.yaml")
    return moe_job_params(config, wc.device, hardware_peaks(specs, wc.device))


def _moe_device(wc):
    return config["devices"][wc.device] if wc.device in (config.get("devices") or {}) else {"kind": "cpu"}


def _moe_gpus(wc):
    return _moe_device(wc).get("gpus", 0)


rule bench_moe:
    output:
        rows=BENCH_MOE_STEM + ".parquet",
        report=BENCH_MOE_STEM + ".json",
    params:
        job=_moe_params,
        config_hash=lambda wc: stable_hash(_moe_params(wc)),
    log:
        "results/logs/bench_moe/{device}/{workload}.log",
    benchmark:
        "results/benchmarks/bench_moe/{device}/{workload}.tsv"
    wildcard_constraints:
        device="[a-z][a-z0-9_]*",
        workload="vqav2|visual7w",
    threads: lambda wc: _moe_device(wc).get("cpus", 2)
    resources:
        gpu=_moe_gpus,
        gpu_model=lambda wc: _moe_device(wc).get("gpu_model", "") if _moe_gpus(wc) else "",
        slurm_partition=lambda wc: _moe_device(wc).get("partition", ""),
        runtime=lambda wc: _moe_device(wc).get("runtime_min", 60),
        mem_mb=lambda wc: _moe_device(wc).get("mem_mb", 4000),
        cpus_per_task=lambda wc: _moe_device(wc).get("cpus", 2),
    conda:
        "../envs/bench-gpu.yaml"
    script:
        "../scripts/bench_moe.py"


def _bench_moe_files(wc):
    return [(BENCH_MOE_STEM + ".parquet").format(**j) for j in BENCH_MOE_JOBS]


# Chain whatever bench.smk (or another stage) registered, so every suite's rows reach bench_results.
_bench_moe_prev = WAREHOUSE_INPUTS.get("bench_results")
WAREHOUSE_INPUTS["bench_results"] = lambda wc: (_bench_moe_prev(wc) if _bench_moe_prev else []) + _bench_moe_files(wc)
