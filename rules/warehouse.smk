# Warehouse and report: load_warehouse -> render_report (one page per study)
# (DEVICES_FILE comes from verdicts.smk)


rule load_warehouse:
    input:
        unpack(lambda wc: {table: func(wc) for table, func in WAREHOUSE_INPUTS.items()}),
        devices_file=DEVICES_FILE,
        # papers read from their PDF get text_origin `pdf` in the papers table
        fulltext=expand("results/{study}/fulltext.parquet", study=STUDIES),
    output:
        config["warehouse"],
    log:
        "results/logs/load_warehouse.log",
    benchmark:
        "results/benchmarks/load_warehouse.tsv"
    conda:
        "../envs/report.yaml"
    params:
        # No config hash here: a param would rebuild the warehouse (and every report) on any config
        # change. The script records the hash of the config it ran under in the `runs` table.
        tables=lambda wc: sorted(WAREHOUSE_INPUTS),
        # the CPU baseline of the speedup_vs_cpu view (the devices file it reads is an input above)
        baseline={k: config["verdicts"][k] for k in ("cpu_baseline_backend", "cpu_baseline_precision", "devices_file")},
    script:
        "../scripts/load_warehouse.py"


REPORT_CHARTS = ["throughput", "latency", "speedup", "claims", "tribunal", "routing"]


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
        frame=lambda wc: [f"results/{wc.study}/frame.json"] if "claims" in WAREHOUSE_INPUTS else [],
        devices_file=DEVICES_FILE,
    output:
        html=report("results/report/{study}.html", category="Reports", labels={"study": "{study}", "format": "html"}),
        md=report("results/report/{study}.md", category="Reports", labels={"study": "{study}", "format": "markdown"}),
        images=[
            report(
                path,
                category="Charts",
                subcategory="{study}",
                labels={"study": "{study}", "chart": name, "format": ext},
            )
            for path, name, ext in REPORT_IMAGES
        ],
    log:
        "results/logs/render_report/{study}.log",
    benchmark:
        "results/benchmarks/render_report/{study}.tsv"
    conda:
        "../envs/report.yaml"
    params:
        question=lambda wc: study_question(wc.study),
        suites=lambda wc: config["studies"][wc.study]["suites"],
        report=config["report"],
        verdicts=config["verdicts"],
        cache_dir="results/cache/report",
    script:
        "../scripts/render_report.py"
