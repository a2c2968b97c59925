# Warehouse and report: load_warehouse -> render_report (one page per study)
# (DEVICES_FILE comes from verdicts.smk)
import os
from pathlib import Path


rule load_warehouse:
    input:
        unpack(lambda wc: {table: func(wc) for table, func in WAREHOUSE_INPUTS.items()}),
        devices_file=DEVICES_FILE,
    output:
        config["warehouse"],
    params:
        # No config hash here: a param would rebuild the warehouse (and every report) on any config
        # change. The script records the hash of the config it ran under in the `runs` table.
        tables=lambda wc: sorted(WAREHOUSE_INPUTS),
        # the CPU baseline of the speedup_vs_cpu view (the devices file it reads is an input above)
        baseline={k: config["verdicts"][k] for k in ("cpu_baseline_backend", "cpu_baseline_precision", "devices_file")},
    log:
        "results/logs/load_warehouse.log",
    benchmark:
        "results/benchmarks/load_warehouse.tsv"
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/load_warehouse.py"


REPORT_CHARTS = ["throughput", "latency", "speedup", "claims", "tribunal", "routing"]


COMMITTED_FOLDER = resource_path(config["report"]["committed_results"])
COMMITTED_RESULTS = (
    sorted(str(p) for p in Path(COMMITTED_FOLDER).rglob("*") if p.suffix in (".parquet", ".jsonl", ".csv"))
    if COMMITTED_FOLDER and os.path.isdir(COMMITTED_FOLDER)
    else []
)
# The chart images (path, chart, format); render_report flags each for `snakemake --report`.
REPORT_IMAGES = [
    (f"results/report/{{study}}/{name}.{ext}", name, ext)
    for name in (REPORT_CHARTS if config["report"]["images"] else [])
    for ext in ("svg", "png")
]


rule render_report:
    input:
        db=config["warehouse"],
        screening="results/{study}/screening.json",
        committed=lambda wc: COMMITTED_RESULTS,
        devices_file=DEVICES_FILE,
    output:
        html=report("results/report/{study}.html", category="Reports", labels={"study": "{study}", "format": "html"}),
        md=report("results/report/{study}.md", category="Reports", labels={"study": "{study}", "format": "markdown"}),
        images=[
            report(path, category="Charts", subcategory="{study}", labels={"study": "{study}", "chart": name, "format": ext})
            for path, name, ext in REPORT_IMAGES
        ],
    params:
        question=lambda wc: config["studies"][wc.study]["question"],
        suites=lambda wc: config["studies"][wc.study]["suites"],
        report=config["report"],
        committed_folder=COMMITTED_FOLDER,
        verdicts=config["verdicts"],
        cache_dir="results/cache/report",
    log:
        "results/logs/render_report/{study}.log",
    benchmark:
        "results/benchmarks/render_report/{study}.tsv"
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/render_report.py"
