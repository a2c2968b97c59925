# bench: bench_cnn, one job per device x model x backend x precision (for the devices in
# bench.devices), each sweeping its grid's batch sizes. GPU jobs carry the Slurm placement
# of their device entry as resources; locally the profile's gpu=1 runs one GPU job at a time.
from sovereign.bench.config import cnn_jobs, job_params, stable_hash

BENCH_CNN_JOBS = cnn_jobs(config)
BENCH_CNN_STEM = "results/bench/cnn/{device}/{model}__{backend}__{precision}"


def _bench_device(wc):
    return config["devices"][wc.device]


def _bench_gpus(wc):
    # whatever the kind: an entry may place CPU-kind work on a GPU node (and hold its GPU)
    return _bench_device(wc).get("gpus", 0)


rule bench_cnn:
    output:
        rows=BENCH_CNN_STEM + ".parquet",
        env=BENCH_CNN_STEM + ".json",
    params:
        job=lambda wc: job_params(config, wc.device, wc.model),
        config_hash=lambda wc: stable_hash(job_params(config, wc.device, wc.model)),
    log:
        "results/logs/bench_cnn/{device}/{model}__{backend}__{precision}.log",
    benchmark:
        "results/benchmarks/bench_cnn/{device}/{model}__{backend}__{precision}.tsv"
    wildcard_constraints:
        device="[a-z][a-z0-9_]*",
        model="resnet18|resnet50|resnet101",
        backend="torch_eager|torch_compile|onnxruntime|tensorrt",
        precision="fp32|tf32|fp16|bf16|int8",
    threads: lambda wc: _bench_device(wc)["cpus"]
    resources:
        gpu=_bench_gpus,
        gpu_model=lambda wc: _bench_device(wc)["gpu_model"] if _bench_gpus(wc) else "",
        slurm_partition=lambda wc: _bench_device(wc)["partition"],
        runtime=lambda wc: _bench_device(wc)["runtime_min"],
        mem_mb=lambda wc: _bench_device(wc)["mem_mb"],
        cpus_per_task=lambda wc: _bench_device(wc)["cpus"],
    conda:
        "../envs/bench-gpu.yaml"
    script:
        "../scripts/bench_cnn.py"


def _bench_cnn_files(wc):
    return [(BENCH_CNN_STEM + ".parquet").format(**j) for j in BENCH_CNN_JOBS]


# Chain any earlier registration so every suite's files reach bench_results (bench_moe.smk does the same).
_bench_prev = WAREHOUSE_INPUTS.get("bench_results")
WAREHOUSE_INPUTS["bench_results"] = lambda wc: (_bench_prev(wc) if _bench_prev else []) + _bench_cnn_files(wc)
