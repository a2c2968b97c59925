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
    log:
        "results/logs/plan_queries/{study}.log",
    conda:
        "../envs/literature.yaml"
    params:
        question=lambda wc: study_question(wc.study),
        queries=lambda wc: config["studies"][wc.study]["queries"],
        papers=lambda wc: config["studies"][wc.study]["papers"],
        min_queries=config["literature"]["min_queries"],
        expansions=EXPANSIONS,
    script:
        "../scripts/plan_queries.py"


SNAPSHOT_INPUT = (
    [config["literature"]["snapshot_path"]] if config["literature"]["source"] in ("snapshot", "auto") else []
)


# With `auto`, a search that fell back to the snapshot is not a finished live search: the next run
# searches live again and replaces its rows. The mechanism is the `live_attempt` param, read from the
# state file each search writes beside its rows ({qid}.live_state.json: the attempt it ran with, and
# whether it fell back): a search that has not run gets 0, a finished one its recorded attempt
# (unchanged, so it is not rerun), and one that fell back its attempt + 1, a new value, so Snakemake's
# params trigger reruns it (a dry run shows "params have changed"). A param computed from the output
# alone ("retry" while the rows are a fallback, "" otherwise) would flip-flop: Snakemake records the
# value that started the retry ("retry"), the live rows then give "", and the search and everything
# after it would rerun once more; recording the value the job ran with avoids that. The state file
# is not a declared output on purpose (sovereign/literature/fallback.py says why). It relies on the
# params rerun trigger (Snakemake's default; not with --rerun-triggers mtime alone).
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
    log:
        "results/logs/search_arxiv/{study}/{qid}.log",
    conda:
        "../envs/literature.yaml"
    resources:
        arxiv_api=1,
    params:
        **SEARCH_PARAMS,
        query=lambda wc: query_by_id(wc.study, wc.qid),
        live_attempt=lambda wc: live_attempt_param(
            f"results/{wc.study}/search/{wc.qid}.jsonl", f"search {wc.qid} of study {wc.study}"
        ),
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
    log:
        "results/logs/screen_papers/{study}.log",
    benchmark:
        "results/benchmarks/screen_papers/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    params:
        question=lambda wc: study_question(wc.study),
        thresholds=config["screening"],
        embeddings=config["embeddings"],
        # a study pinned to papers keeps exactly those, whatever their relevance scores
        pinned=lambda wc: config["studies"][wc.study]["papers"],
    script:
        "../scripts/screen_papers.py"


rule fetch_fulltext:
    input:
        papers="results/{study}/papers.parquet",
        snapshot=lambda wc: SNAPSHOT_INPUT,
    output:
        "results/{study}/fulltext.parquet",
    log:
        "results/logs/fetch_fulltext/{study}.log",
    conda:
        "../envs/literature.yaml"
    params:
        fulltext=config["literature"]["fulltext"],
    script:
        "../scripts/fetch_fulltext.py"


WAREHOUSE_INPUTS["queries"] = lambda wc: expand("results/{study}/queries.json", study=STUDIES)
WAREHOUSE_INPUTS["papers"] = lambda wc: expand("results/{study}/papers.parquet", study=STUDIES)
FINAL_TARGETS.extend(expand("results/{study}/fulltext.parquet", study=STUDIES))
