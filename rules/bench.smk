# bench: bench_cnn, one job per device x model x backend x precision (for the devices in
# bench.devices), each sweeping its grid's batch sizes. GPU jobs carry the Slurm placement
# of their device entry as resources; locally the profile's gpu=1 runs one GPU job at a time.
from sovereign.bench.config import cnn_jobs, job_params, stable_hash
from sovereign.bench.measured import device_pattern, measured_files

BENCH_CNN_JOBS = cnn_jobs(config)  # always built: it checks bench.devices names
if not suite_runs("cnn"):  # no study checks against it (rules/common.smk)
    BENCH_CNN_JOBS = []
BENCH_CNN_STEM = "results/bench/cnn/{device}/{model}__{backend}__{precision}"
BENCH_CNN_FILES = [f"{BENCH_CNN_STEM}.parquet".format(**j) for j in BENCH_CNN_JOBS]
# Devices accumulate: finished files of devices measured by earlier runs (another profile's) are read too,
# as plain inputs: bench_cnn only makes this run's devices (its device constraint), so it never reruns them.
BENCH_DEVICES = list(config["bench"]["devices"])
BENCH_CNN_MEASURED = measured_files("results/bench/cnn", BENCH_CNN_FILES, BENCH_DEVICES)
# The software env of a bench job follows its device entry's kind: CUDA devices get torch with CUDA,
# onnxruntime-gpu and TensorRT; CPU devices the CPU builds (never both onnxruntime packages in one env).
BENCH_ENVS = {"cuda": "../envs/bench-gpu.yaml", "cpu": "../envs/bench-cpu.yaml"}


rule bench_cnn:
    output:
        rows=f"{BENCH_CNN_STEM}.parquet",
        env=f"{BENCH_CNN_STEM}.json",
    log:
        "results/logs/bench_cnn/{device}/{model}__{backend}__{precision}.log",
    benchmark:
        "results/benchmarks/bench_cnn/{device}/{model}__{backend}__{precision}.tsv"
    wildcard_constraints:
        device=device_pattern(BENCH_DEVICES),
        model="resnet18|resnet50|resnet101",
        backend="torch_eager|torch_compile|onnxruntime|tensorrt",
        precision="fp32|tf32|fp16|bf16|int8",
    conda:
        lambda wc: BENCH_ENVS[config["devices"][wc.device]["kind"]]
    threads: lambda wc: config["devices"][wc.device]["cpus"]
    resources:
        # whatever the kind: an entry may place CPU-kind work on a GPU node (and hold its GPU)
        gpu=lambda wc: config["devices"][wc.device].get("gpus", 0),
        gpu_model=lambda wc: (
            config["devices"][wc.device]["gpu_model"] if config["devices"][wc.device].get("gpus", 0) else ""
        ),
        slurm_partition=lambda wc: config["devices"][wc.device]["partition"],
        runtime=lambda wc: config["devices"][wc.device]["runtime_min"],
        mem_mb=lambda wc: config["devices"][wc.device]["mem_mb"],
        cpus_per_task=lambda wc: config["devices"][wc.device]["cpus"],
    params:
        job=lambda wc: job_params(config, wc.device, wc.model),
        config_hash=lambda wc: stable_hash(job_params(config, wc.device, wc.model)),
    script:
        "../scripts/bench_cnn.py"


# Chain any earlier registration so every suite's files reach bench_results (bench_moe.smk does the same).
WAREHOUSE_INPUTS["bench_results"] = (
    lambda wc, prev=WAREHOUSE_INPUTS.get("bench_results"): (prev(wc) if prev else [])
    + BENCH_CNN_FILES
    + BENCH_CNN_MEASURED
)
