# Warehouse and report: load_warehouse -> render_report (one page per study)


def _warehouse_inputs(wc):
    return {table: func(wc) for table, func in WAREHOUSE_INPUTS.items()}


rule load_warehouse:
    input:
        unpack(_warehouse_inputs),
    output:
        config["warehouse"],
    params:
        tables=lambda wc: sorted(WAREHOUSE_INPUTS),
        config_hash=CONFIG_HASH,
    log:
        "results/logs/load_warehouse.log",
    benchmark:
        "results/benchmarks/load_warehouse.tsv"
    script:
        "../scripts/load_warehouse.py"


rule render_report:
    input:
        db=config["warehouse"],
        screening="results/{study}/screening.json",
    output:
        html=report("results/report/{study}.html", category="Reports", labels={"study": "{study}"}),
    params:
        question=lambda wc: config["studies"][wc.study]["question"],
    log:
        "results/logs/render_report/{study}.log",
    script:
        "../scripts/render_report.py"
