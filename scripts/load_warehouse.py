from sovereign.config import config_hash
from sovereign.smk import run_stage
from sovereign.verdicts.views import verdict_views
from sovereign.warehouse import load_warehouse

p = snakemake.params  # noqa: F821 - provided by Snakemake
inputs = {t: list(snakemake.input[t]) for t in p.tables}  # noqa: F821
run_stage(snakemake, load_warehouse, db_path=snakemake.output[0], inputs=inputs,  # noqa: F821
          config_hash=config_hash(snakemake.config), views=verdict_views(**p.baseline),  # noqa: F821
          fulltext=list(snakemake.input.fulltext))  # noqa: F821
