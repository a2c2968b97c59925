# Warehouse and report: load_warehouse -> render_report (one page per study)
# (_devices_file comes from verdicts.smk)


def _warehouse_inputs(wc):
    return {table: func(wc) for table, func in WAREHOUSE_INPUTS.items()}


rule load_warehouse:
    input:
        unpack(_warehouse_inputs),
        devices_file=_devices_file,
        # papers read from their PDF get text_origin `pdf` in the papers table
        fulltext=lambda wc: expand("results/{study}/fulltext.parquet", study=STUDIES),
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


def _report_images():
    if not config["report"]["images"]:
        return []
    charts = [(name, ext) for name in REPORT_CHARTS for ext in ("svg", "png")]
    return [report(f"results/report/{{study}}/{n}.{e}", category="Charts", subcategory="{study}", labels={"study": "{study}", "chart": n, "format": e}) for n, e in charts]


rule render_report:
    input:
        db=config["warehouse"],
        screening="results/{study}/screening.json",
        frame=lambda wc: [f"results/{wc.study}/frame.json"] if "claims" in WAREHOUSE_INPUTS else [],
        devices_file=_devices_file,
    output:
        html=report("results/report/{study}.html", category="Reports", labels={"study": "{study}", "format": "html"}),
        md=report("results/report/{study}.md", category="Reports", labels={"study": "{study}", "format": "markdown"}),
        images=_report_images(),
    params:
        question=lambda wc: config["studies"][wc.study]["question"],
        suites=lambda wc: config["studies"][wc.study]["suites"],
        report=config["report"],
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
