# Literature: plan_queries -> search_arxiv (one job per query) -> screen_papers -> fetch_fulltext

# On a cluster these run where Snakemake runs (the login node), never as Slurm jobs: the two that
# talk to arXiv need internet, which compute nodes often lack, and planning takes milliseconds.
# Each would otherwise cost a job's queueing and start-up (over ten seconds) on the critical path.
localrules:
    plan_queries,
    search_arxiv,
    fetch_fulltext,


rule plan_queries:
    output:
        "results/{study}/queries.json",
    params:
        question=lambda wc: config["studies"][wc.study]["question"],
        queries=lambda wc: config["studies"][wc.study]["queries"],
        min_queries=config["literature"]["min_queries"],
        expansions=EXPANSIONS,
    log:
        "results/logs/plan_queries/{study}.log",
    conda:
        "../envs/literature.yaml"
    script:
        "../scripts/plan_queries.py"


SNAPSHOT_INPUT = (
    [config["literature"]["snapshot_path"]] if config["literature"]["source"] in ("snapshot", "auto") else []
)


# A search's params hold only the settings its source uses: tuning `literature.arxiv` reruns no
# snapshot search, and swapping the snapshot file reruns no live one (the file is an input there).
# requery_arxiv (rules/verdicts.smk) searches with the same settings.
_LIVE = config["literature"]["source"] in ("arxiv", "auto")
SEARCH_PARAMS = dict(
    source=config["literature"]["source"],
    snapshot_path=config["literature"]["snapshot_path"] if config["literature"]["source"] != "arxiv" else None,
    max_results=config["literature"]["max_results"],
    arxiv=config["literature"]["arxiv"] if _LIVE else None,
)


rule search_arxiv:
    input:
        snapshot=lambda wc: SNAPSHOT_INPUT,
    output:
        "results/{study}/search/{qid}.jsonl",
    params:
        query=lambda wc: query_by_id(wc.study, wc.qid),
        **SEARCH_PARAMS,
    log:
        "results/logs/search_arxiv/{study}/{qid}.log",
    resources:
        arxiv_api=1,
    conda:
        "../envs/literature.yaml"
    script:
        "../scripts/search_arxiv.py"


rule screen_papers:
    input:
        queries="results/{study}/queries.json",
        search=lambda wc: expand(
            "results/{{study}}/search/{qid}.jsonl",
            qid=[q["query_id"] for q in study_queries(wc.study)],
        ),
    output:
        papers="results/{study}/papers.parquet",
        summary="results/{study}/screening.json",
    params:
        question=lambda wc: config["studies"][wc.study]["question"],
        thresholds=config["screening"],
        embeddings=config["embeddings"],
    log:
        "results/logs/screen_papers/{study}.log",
    benchmark:
        "results/benchmarks/screen_papers/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    script:
        "../scripts/screen_papers.py"


rule fetch_fulltext:
    input:
        papers="results/{study}/papers.parquet",
        snapshot=lambda wc: SNAPSHOT_INPUT,
    output:
        "results/{study}/fulltext.parquet",
    params:
        snapshot_path=config["literature"]["snapshot_path"],
        fulltext=config["literature"]["fulltext"],
    log:
        "results/logs/fetch_fulltext/{study}.log",
    conda:
        "../envs/literature.yaml"
    script:
        "../scripts/fetch_fulltext.py"


WAREHOUSE_INPUTS["queries"] = lambda wc: expand("results/{study}/queries.json", study=STUDIES)
WAREHOUSE_INPUTS["papers"] = lambda wc: expand("results/{study}/papers.parquet", study=STUDIES)
FINAL_TARGETS.extend(expand("results/{study}/fulltext.parquet", study=STUDIES))
