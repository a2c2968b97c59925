import os

from sovereign.report import render_report
from sovereign.smk import run_stage

p, o, study = snakemake.params, snakemake.output, snakemake.wildcards.study  # noqa: F821 - provided by Snakemake
run_stage(snakemake, render_report, db_path=snakemake.input.db, study=study, question=p.question,  # noqa: F821
          screening_path=snakemake.input.screening, out_html=o.html, out_md=o.md,  # noqa: F821
          charts_dir=os.path.dirname(o.images[0]) if o.images else None, suites=list(p.suites),
          images=bool(o.images), png_scale=p.report["png_scale"], cache_dir=p.cache_dir, tolerance=p.verdicts["tolerance"],
          cpu_baseline_backend=p.verdicts["cpu_baseline_backend"],
          cpu_baseline_precision=p.verdicts["cpu_baseline_precision"], devices_file=p.verdicts["devices_file"],
          frame_path=snakemake.input.frame[0] if snakemake.input.frame else None)  # noqa: F821
