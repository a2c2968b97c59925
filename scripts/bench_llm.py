from sovereign.bench.llm.runner import bench_llm_job
from sovereign.smk import run_stage

w, p = snakemake.wildcards, snakemake.params  # noqa: F821 - provided by Snakemake
run_stage(snakemake, bench_llm_job, out_rows=snakemake.output.rows, out_report=snakemake.output.env,  # noqa: F821
          device=w.device, model=w.model, backend=w.backend, precision=w.precision, job=dict(p.job),
          config_hash=p.config_hash)
