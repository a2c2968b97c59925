from sovereign.report import render_report
from sovereign.smk import run_stage

run_stage(snakemake, render_report, db_path=snakemake.input.db, study=snakemake.wildcards.study,  # noqa: F821
          question=snakemake.params.question, screening_path=snakemake.input.screening,  # noqa: F821
          out_html=snakemake.output.html)  # noqa: F821
