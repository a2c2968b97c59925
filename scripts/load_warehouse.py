import sovereign.verdicts.views  # noqa: F401 - registers the verdict views
from sovereign.smk import run_stage
from sovereign.warehouse import load_warehouse

inputs = {t: list(snakemake.input[t]) for t in snakemake.params.tables}  # noqa: F821
run_stage(snakemake, load_warehouse, db_path=snakemake.output[0], inputs=inputs,  # noqa: F821
          config_hash=snakemake.params.config_hash)  # noqa: F821
