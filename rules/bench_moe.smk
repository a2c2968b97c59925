# bench_moe: the moe_routing suite, one job per device x workload (for the devices in
# bench.devices), each sweeping its grid's dtypes, phases, batch sizes, routing strategies
# and dispatches. GPU jobs carry the Slurm placement of their device entry as resources.
from collections import defaultdict

from sovereign.bench.config import stable_hash
from sovereign.bench.moe.config import hardware_peaks, job_params as moe_job_params, moe_jobs
from sovereign.bench.errors import BenchConfigError

try:
    BENCH_MOE_JOBS = moe_jobs(config)
except BenchConfigError as exc:
    raise WorkflowError(str(exc)) from None
if not suite_runs("moe_routing"):  # no study checks against it (rules/common.smk)
    BENCH_MOE_JOBS = []
BENCH_MOE_STEM = "results/bench/moe_routing/{device}/{workload}"
BENCH_MOE_FILES = [f"{BENCH_MOE_STEM}.parquet".format(**j) for j in BENCH_MOE_JOBS]
# earlier runs' other devices, as in rules/bench.smk
BENCH_MOE_MEASURED = measured_files("results/bench/moe_routing", BENCH_MOE_FILES, BENCH_DEVICES)
BENCH_MOE_SPECS = (config.get("verdicts") or {}).get("devices_file") or os.path.join(
    workflow.basedir, "config", "devices.yaml"
)
# Each job's device entry; a device the config does not describe runs as a CPU job.
BENCH_MOE_DEVICES = defaultdict(lambda: {"kind": "cpu"}, config.get("devices") or {})


rule bench_moe:
    output:
        rows=f"{BENCH_MOE_STEM}.parquet",
        report=f"{BENCH_MOE_STEM}.json",
    log:
        "results/logs/bench_moe/{device}/{workload}.log",
    benchmark:
        "results/benchmarks/bench_moe/{device}/{workload}.tsv"
    wildcard_constraints:
        device=device_pattern(BENCH_DEVICES),
        workload="vqav2|visual7w",
    conda:
        # BENCH_ENVS: rules/bench.smk
        lambda wc: BENCH_ENVS[BENCH_MOE_DEVICES[wc.device]["kind"]]
    threads: lambda wc: BENCH_MOE_DEVICES[wc.device].get("cpus", 2)
    resources:
        gpu=lambda wc: BENCH_MOE_DEVICES[wc.device].get("gpus", 0),
        gpu_model=lambda wc: (
            BENCH_MOE_DEVICES[wc.device].get("gpu_model", "") if BENCH_MOE_DEVICES[wc.device].get("gpus", 0) else ""
        ),
        slurm_partition=lambda wc: BENCH_MOE_DEVICES[wc.device].get("partition", ""),
        runtime=lambda wc: BENCH_MOE_DEVICES[wc.device].get("runtime_min", 60),
        mem_mb=lambda wc: BENCH_MOE_DEVICES[wc.device].get("mem_mb", 4000),
        cpus_per_task=lambda wc: BENCH_MOE_DEVICES[wc.device].get("cpus", 2),
    params:
        job=lambda wc: moe_job_params(config, wc.device, hardware_peaks(BENCH_MOE_SPECS, wc.device)),
        config_hash=lambda wc: stable_hash(
            moe_job_params(config, wc.device, hardware_peaks(BENCH_MOE_SPECS, wc.device))
        ),
    script:
        "../scripts/bench_moe.py"


# Chain whatever bench.smk (or another stage) registered, so every suite's rows reach bench_results.
WAREHOUSE_INPUTS["bench_results"] = (
    lambda wc, prev=WAREHOUSE_INPUTS.get("bench_results"): (prev(wc) if prev else [])
    + BENCH_MOE_FILES
    + BENCH_MOE_MEASURED
)
