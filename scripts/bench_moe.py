from sovereign.bench.moe.runner import bench_moe_job
from sovereign.smk import run_stage

w, p = snakemake.wildcards, snakemake.params  # noqa: F821 - provided by Snakemake
run_stage(snakemake, bench_moe_job, out_rows=snakemake.output.rows, out_report=snakemake.output.report,  # noqa: F821
          device=w.device, workload=w.workload, job=dict(p.job), config_hash=p.config_hash)
