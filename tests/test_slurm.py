"""Scale-out through a real single-node Slurm cluster (tests/slurm/cluster.sh) with the Slurm profiles.

One cluster serves the whole module (started once, stopped at the end, every daemon by PID).
Every Snakemake run is bounded by `timeout -k 30`, so a hang fails the test instead of CI.
What it shows: a trivial GPU job sees its fake GPU; the workflow completes through
profiles/slurm-l4 with the benchmark jobs on the l4 partition holding an l4 GPU, the arXiv and
planning rules on the login node, and every other job on the cpu partition (read back from
slurmctld with `scontrol show job`); adding the t4 device
schedules only the T4 benchmark jobs and what depends on them; the warehouse equals a local run of
the same config, and since the l4/t4 entries are CPU-kind their rows record the CPU model and every claim
about an L4 or a T4 is UNTESTABLE ("rows for 'l4' ran on <CPU>, not an NVIDIA L4"), never decided on CPU
rows; a failing job is retried as the profile says and the run ends non-zero, promptly.
"""
from __future__ import annotations

import copy
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from conftest import SUMMARY_LINES
from workflow import ROOT, SNAKEMAKE, planned_jobs, write_config

CLUSTER_SH = ROOT / "tests" / "slurm" / "cluster.sh"
PROFILES = ("slurm", "slurm-l4", "slurm-t4")
_MISSING = [p for p in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol") if shutil.which(p) is None]
# The tests that need the cluster; the profile and env checks at the end run everywhere.
_CLUSTER_MARKS = [
    pytest.mark.slurm,
    pytest.mark.slow,
    pytest.mark.skipif(bool(_MISSING), reason=f"Slurm packages absent (no {', '.join(_MISSING)}): install the Slurm "
                       "lines of tools/apt-packages.txt (tools/system-deps.sh, run by `make test`)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the test cluster needs root (slurmd starts jobs as their user)"),
]


def needs_cluster(test):
    """Mark a test that runs on the Slurm test cluster (skipped with the reason where it cannot start)."""
    for mark in _CLUSTER_MARKS:
        test = mark(test)
    return test

STUDY = "gpu"
LOCAL_RULES = {"plan_queries", "search_arxiv", "fetch_fulltext", "requery_arxiv"}  # never submitted (localrules)
RUN_LIMIT_S = 900  # per Snakemake run: `timeout -k 30` kills a hung run (CI takes far less; a loaded 2-core box up to ~10 min)
# The plugin logs each sbatch as "... submitted with SLURM jobid N (log: .../rule_<rule>/<wildcards>/N.log)";
# a rule without wildcards has no <wildcards> folder.
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/(?:(\S+)/)?\d+\.log\)")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slurm_config() -> dict:
    """The default config, made small: one study, two queries, TF-IDF only, tiny bench grids, fake-GPU devices."""
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    # both suites: a run benchmarks only the suites its studies list, and this test places both suites' jobs
    cfg["studies"] = {STUDY: dict(cfg["studies"][STUDY], suites=["cnn", "moe_routing"],
                                  queries=["NVIDIA L4 T4 inference benchmark", "ResNet TensorRT INT8 throughput"])}
    cfg["embeddings"]["backend"] = "none"
    cfg["claims"]["use_embeddings"] = False
    cfg["report"]["images"] = False
    # CPU-kind entries placed on the GPU partitions: the CI machine has no GPU, Slurm pretends it has.
    for name in ("l4", "t4"):
        cfg["devices"][name] = {"kind": "cpu", "partition": name, "gpu_model": name, "gpus": 1,
                                "runtime_min": 10, "mem_mb": 2000, "cpus": 1}
    cfg["bench"]["devices"] = ["l4", "t4"]
    cnn = cfg["bench"]["suites"]["cnn"]
    cnn["timing"] = {"warmup": 1, "min_iterations": 2, "max_iterations": 3, "round_iterations": 1,
                     "stable_rounds": 2, "rel_spread": 0.5, "time_budget_s": 0.5}
    cnn["cpu"].update(models=["resnet18"], batch_sizes=[1], backends={"torch_eager": ["fp32"]})
    moe = cfg["bench"]["suites"]["moe_routing"]
    moe["cpu"].update(batch_sizes=[1], strategies=["topk1"], workloads=["vqav2"], phases=["prefill"],
                      dispatches=["loop"], time_budget_s=0.05)
    return cfg


def slurm_cmd(workdir: Path, profile: str, *args: str, targets: tuple = ()) -> list[str]:
    """The command running the workflow through a Slurm profile, bounded by `timeout -k 30`."""
    return ["timeout", "-k", "30", str(RUN_LIMIT_S), SNAKEMAKE, *targets, "-s", str(ROOT / "Snakefile"),
            "-d", str(workdir), "--configfile", str(workdir / "config.yaml"), "--profile", str(ROOT / "profiles" / profile),
            # Poll slurmctld 4 s after submitting (the profile's 40 s suits real queues, not a test). The plugin
            # waits 10 s longer after each poll that finds no job finished (4, 14, 24 s...), so a job is seen
            # done at 4, 18 or 42 s. Here most jobs take 9-17 s (two workflow parses on a busy 2-core box):
            # with 1 s they were seen at 33 s, with 4 s at 18 s.
            # Let the snapshot searches run side by side (they never reach arXiv).
            "--slurm-init-seconds-before-status-checks", "4", "--resources", "arxiv_api=4", *args]


class Run:
    """A workflow run started in the background; `result()` waits for it (runs overlap to save time)."""

    def __init__(self, cmd: list[str], workdir: Path):
        self.workdir, self.start = workdir, time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.res, self.secs = None, None

    def result(self) -> subprocess.CompletedProcess:
        if self.res is None:
            out, _ = self.proc.communicate(timeout=RUN_LIMIT_S + 60)
            self.secs = time.monotonic() - self.start
            self.res = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, "")
        return self.res


def submitted(res: subprocess.CompletedProcess) -> list[tuple[str, str, str]]:
    """(slurm job id, rule, wildcards) of every sbatch submission the run logged."""
    return SUBMITTED.findall(res.stdout + res.stderr)


def slurm_job(job_id: str) -> dict:
    """slurmctld's record of a job (kept after the end for MinJobAge), as key -> value."""
    out = subprocess.run(["scontrol", "-o", "-d", "show", "job", job_id], capture_output=True, text=True, check=True).stdout
    return dict(tok.split("=", 1) for tok in out.split() if "=" in tok)


def tail(res: subprocess.CompletedProcess) -> str:
    return (res.stdout + res.stderr)[-4000:]


@pytest.fixture(scope="module")
def cluster():
    """Start the test cluster once for the module and stop it (every daemon by PID) at the end."""
    start = time.monotonic()
    subprocess.run([str(CLUSTER_SH), "start"], check=True, timeout=120)
    yield time.monotonic() - start
    subprocess.run([str(CLUSTER_SH), "stop"], check=False, timeout=120)


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """All workflow runs of the module, overlapped where independent; each test judges its own run.

    In the background: a Slurm run whose screening fails, and (once the l4 run is done) a local run
    of the l4+t4 config. In front: the l4 run through profiles/slurm-l4, a dry run of the l4+t4
    config, then its Slurm run through profiles/slurm (which must add only the T4 jobs).
    """
    cfg = slurm_config()
    local_dir, slurm_dir, fail_dir = (tmp_path_factory.mktemp(n) for n in ("local", "slurm", "fail"))
    write_config(local_dir, copy.deepcopy(cfg))
    write_config(slurm_dir, copy.deepcopy(cfg))
    bad = copy.deepcopy(cfg)
    # Screening (a Slurm job) asks an embedding endpoint that is down: nothing listens on that loopback port.
    bad["embeddings"].update(backend="openai", url=f"http://127.0.0.1:{closed_port()}/v1", timeout_s=5)
    bad["studies"][STUDY]["queries"] = bad["studies"][STUDY]["queries"][:1]
    write_config(fail_dir, bad)
    started = []
    try:
        fail = Run(slurm_cmd(fail_dir, "slurm", targets=(f"results/{STUDY}/papers.parquet",)), fail_dir)
        started.append(fail)
        l4 = Run(slurm_cmd(slurm_dir, "slurm-l4"), slurm_dir)
        started.append(l4)
        l4.result()
        # The local run starts only now: beside the l4 run, its CPU benchmarks pushed Slurm jobs past the
        # plugin's poll marks (see slurm_cmd), each miss costing 14-24 s more. The t4 run mostly waits.
        local = Run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(local_dir), "--configfile",
                     str(local_dir / "config.yaml"), "--cores", "2"], local_dir)
        started.append(local)
        plan, t4 = None, None
        if l4.result().returncode == 0:
            start = time.monotonic()
            plan = {rule: n for rule, n in planned_jobs(slurm_dir).items() if rule != "all"}  # `all` stays local
            dry_secs = time.monotonic() - start
            t4 = Run(slurm_cmd(slurm_dir, "slurm"), slurm_dir)
            started.append(t4)
            t4.result()
        fail.result()
        local.result()
    finally:
        for run in started:  # only on an error above: never leave a run behind
            if run.proc.poll() is None:
                run.proc.terminate()  # `timeout` passes it on to Snakemake, which cancels its jobs
                try:
                    run.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    run.proc.kill()
                    run.proc.wait()
    timings = (f"slurm timings (s): cluster start {cluster:.0f}, l4 run {l4.secs:.0f}, "
               f"t4 run {t4.secs if t4 else float('nan'):.0f}, dry run {dry_secs if t4 else float('nan'):.0f}, "
               f"failing run {fail.secs:.0f}, local run {local.secs:.0f}")
    print(timings)
    SUMMARY_LINES.append(timings)
    return {"cfg": cfg, "local": local, "fail": fail, "l4": l4, "t4": t4, "plan": plan}


@needs_cluster
def test_trivial_job_on_l4_sees_its_gpu(cluster, tmp_path):
    out = tmp_path / "job.out"
    job_id = subprocess.run(["sbatch", "--parsable", "--wait", "-p", "l4", "--gres=gpu:l4:1", "-o", str(out),
                             "--wrap", "echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"],
                            capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert re.fullmatch(r"CUDA_VISIBLE_DEVICES=\d+", out.read_text().strip())
    job = slurm_job(job_id)
    assert (job["JobState"], job["Partition"], job["JOB_GRES"]) == ("COMPLETED", "l4", "gpu:l4:1")


def _check_placement(jobs, device):
    for job_id, rule, wildcards in jobs:
        job = slurm_job(job_id)
        assert job["JobState"] == "COMPLETED", (rule, job)
        if rule.startswith("bench_"):
            assert wildcards.startswith(f"{device}_"), (rule, wildcards)
            assert (job["Partition"], job.get("JOB_GRES")) == (device, f"gpu:{device}:1"), (rule, job)
        else:
            assert (job["Partition"], job.get("JOB_GRES", "(null)")) == ("cpu", "(null)"), (rule, job)


@needs_cluster
def test_l4_profile_runs_the_workflow_with_benchmarks_on_l4_gpus(runs):
    res = runs["l4"].result()
    assert res.returncode == 0, tail(res)
    jobs = submitted(res)
    rules = {rule for _, rule, _ in jobs}
    assert {"screen_papers", "extract_claims", "ground_claims", "bench_cnn", "bench_moe", "check_claims", "tribunal",
            "load_warehouse", "render_report"} <= rules, rules
    local = set(re.findall(r"^localrule (\w+):", res.stdout + res.stderr, re.M))
    assert local == LOCAL_RULES | {"all"}, local  # arXiv access and planning stay on the login node
    assert not LOCAL_RULES & rules, rules
    _check_placement(jobs, "l4")
    assert (runs["l4"].workdir / f"results/report/{STUDY}.html").exists()


@needs_cluster
def test_adding_t4_schedules_only_t4_benchmarks_and_what_depends_on_them(runs):
    assert runs["t4"] is not None, "the l4 run failed, so t4 was never added"
    plan = runs["plan"]
    assert plan.get("bench_cnn") == 1 and plan.get("bench_moe") == 1, plan
    assert not {"plan_queries", "search_arxiv", "screen_papers", "fetch_fulltext", "extract_claims",
                "ground_claims"} & set(plan), plan
    res = runs["t4"].result()
    assert res.returncode == 0, tail(res)
    jobs = submitted(res)
    done = {}
    for _, rule, _ in jobs:
        done[rule] = done.get(rule, 0) + 1
    assert done == plan  # what ran is exactly what the dry run planned
    _check_placement(jobs, "t4")


WAREHOUSE_KEYS = {
    "queries": "study, query_id, text",
    "papers": "study, paper_id, title, relevance_tfidf, kept, drift",
    "claims": "study, claim_id, paper_id, sentence, metric, value, unit",
    "claim_support": "study, claim_id, text_support, numbers_grounded",
    "bench_results": "suite, device, model, backend, precision, batch_size, status",
    "claim_checks": "study, claim_id, status, claimed_value",
    "verdicts": "study, round, evidence_devices, evidence_suites, evidence_papers",
}


def _decisions(workdir: Path) -> dict:
    """(study, round) -> (decision, contradicted claims, drift), and claim id -> measured value, from one warehouse."""
    con = duckdb.connect(str(workdir / "results/sovereign.duckdb"), read_only=True)
    try:
        verdicts = {(s, r): (d, set(filter(None, (c or "").split(","))), drift) for s, r, d, c, drift in
                    con.sql("SELECT study, round, decision, contradicted_claims, drift FROM verdicts").fetchall()}
        measured = dict(con.sql("SELECT claim_id, measured_value FROM claim_checks").fetchall())
    finally:
        con.close()
    return {"verdicts": verdicts, "measured": measured}


def _check_decisions_agree(local_dir: Path, slurm_dir: Path) -> None:
    """The decisions agree wherever the measurements let them.

    Each run times its own benchmarks, here on two CPU-kind devices sharing a loaded 2-core machine,
    so a measured L4/T4 ratio can land on either side of the contradiction factor. Then, and only
    then, may a decision differ: the claims contradicted in one run and not in the other must have
    different measured values, and each run's decision must follow from its own evidence."""
    a, b = _decisions(local_dir), _decisions(slurm_dir)
    assert a["verdicts"].keys() == b["verdicts"].keys()
    for key, (dec_a, con_a, drift_a) in a["verdicts"].items():
        dec_b, con_b, drift_b = b["verdicts"][key]
        assert drift_a == drift_b, key
        if con_a == con_b:
            assert dec_a == dec_b, (key, dec_a, dec_b)
            continue
        for claim in con_a ^ con_b:
            assert a["measured"][claim] != b["measured"][claim], (key, claim, "same measurement, different contradiction")
        for dec, con, drift in ((dec_a, con_a, drift_a), (dec_b, con_b, drift_b)):
            if key[1] > 1 or dec != "REVISE":  # a REVISE is decided by the score before contradictions count
                assert (dec == "REJECT") == bool(con or drift), (key, dec, con)


@needs_cluster
def test_warehouse_matches_a_local_run_of_the_same_config(runs):
    local = runs["local"].result()
    assert local.returncode == 0, tail(local)
    assert runs["t4"] is not None and runs["t4"].result().returncode == 0, "no Slurm run to compare"
    tables = {}
    for name in ("local", "t4"):
        con = duckdb.connect(str(runs[name].workdir / "results/sovereign.duckdb"), read_only=True)
        try:
            tables[name] = {t: con.sql(f"SELECT {cols} FROM {t} ORDER BY ALL").fetchall() for t, cols in WAREHOUSE_KEYS.items()}
        finally:
            con.close()
    for table in WAREHOUSE_KEYS:
        assert tables["t4"][table] == tables["local"][table], table
    _check_decisions_agree(runs["local"].workdir, runs["t4"].workdir)
    devices = {(row[1], row[6]) for row in tables["t4"]["bench_results"]}
    assert devices == {("l4", "ok"), ("t4", "ok")}, devices  # real CPU measurements under both names
    _check_gpu_claims_untestable_on_cpu_rows(runs["t4"].workdir)


def _check_gpu_claims_untestable_on_cpu_rows(workdir: Path) -> None:
    """The l4/t4 entries are CPU-kind: their rows record the CPU model, and no claim about an L4 or a T4 is
    decided with them; each is UNTESTABLE, saying what the rows ran on."""
    con = duckdb.connect(str(workdir / "results/sovereign.duckdb"), read_only=True)
    try:
        ran = con.sql("SELECT DISTINCT device, hardware, hardware_kind, gpu_name, origin FROM bench_results "
                      "ORDER BY device").fetchall()
        checks = con.sql("SELECT c.claim_id, lower(coalesce(c.subject_device, '')), lower(coalesce(c.baseline_device, '')), "
                         "k.status, k.reason FROM claims c JOIN claim_checks k USING (study, claim_id) "
                         "WHERE k.status <> 'NOT_EMPIRICAL'").fetchall()
    finally:
        con.close()
    cpus = {hw for _, hw, _, _, _ in ran}
    assert len(cpus) == 1 and [(d, k, g, o) for d, _, k, g, o in ran] == [("l4", "cpu", "", "run"), ("t4", "cpu", "", "run")], ran
    cpu = cpus.pop()
    about_gpus = [c for c in checks if {c[1], c[2]} & {"l4", "t4", "nvidia l4", "nvidia t4", "tesla t4"}]
    assert about_gpus, checks  # the study has claims about an L4 or a T4
    ran_on_cpu = re.compile(rf"rows for '(l4|t4)' ran on {re.escape(cpu)}, not an NVIDIA (L4|T4)")
    for claim_id, subject, baseline, status, reason in about_gpus:
        assert status == "UNTESTABLE", (claim_id, status, reason)
        # datasheet figures and unmeasured metrics never reach the rows; every other check says where they ran
        assert ran_on_cpu.search(reason) or re.match(r"spec claim|the suites measure no|the claim names no", reason), \
            (claim_id, reason)
    assert any(ran_on_cpu.search(c[4]) for c in about_gpus), about_gpus


@needs_cluster
def test_failing_job_is_retried_as_configured_and_the_run_ends_nonzero(runs):
    res = runs["fail"].result()
    out = res.stdout + res.stderr
    retries = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["retries"]
    screens = [job_id for job_id, rule, _ in submitted(res) if rule == "screen_papers"]
    assert res.returncode not in (0, 124, 137, -9), out[-3000:]  # failed on its own, not killed by timeout
    assert len(screens) == 1 + retries, out[-3000:]
    assert [slurm_job(j)["JobState"] for j in screens] == ["FAILED"] * len(screens)
    assert "Error in rule screen_papers" in out and "failed, SLURM status is: 'FAILED'" in out
    log = (runs["fail"].workdir / f"results/logs/screen_papers/{STUDY}.log").read_text()
    assert "embedding endpoint http://127.0.0.1:" in log and "unreachable" in log
    assert not (runs["fail"].workdir / f"results/{STUDY}/papers.parquet").exists()


def _profile(name: str) -> dict:
    return yaml.safe_load((ROOT / "profiles" / name / "config.yaml").read_text())


def test_slurm_profiles_share_their_settings_and_narrow_only_the_devices():
    base = _profile("slurm")
    assert base["executor"] == "slurm" and base["retries"] >= 1 and base["latency-wait"] >= 30
    # squeue is answered by slurmctld: works with and without slurmdbd (sacct hangs without it).
    assert base["slurm-status-command"] == "squeue" and base["slurm-no-account"] is True
    assert {"slurm_partition", "runtime", "mem_mb"} <= set(base["default-resources"])
    assert "config" not in base  # benchmarks every device of bench.devices
    for kind in ("l4", "t4"):
        prof = _profile(f"slurm-{kind}")
        assert prof.pop("config") == {"bench": {"devices": [kind]}}
        assert prof == base


def _rule_blocks(text: str) -> dict[str, str]:
    return dict(re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)+)", text, re.M))


ENV_OF_RULE = {"bench_cnn": "bench-gpu", "bench_moe": "bench-gpu", "load_warehouse": "report", "render_report": "report"}


def test_every_rule_runs_in_a_pinned_conda_env_of_its_stage_family():
    rules = {}
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        rules.update(_rule_blocks(smk.read_text()))
    assert rules
    for rule, body in rules.items():
        if rule in ("bench_cnn", "bench_moe", "bench_llm"):  # the device's kind picks the env (tests/test_workflow_lint.py)
            assert re.search(r"^\s+lambda wc: BENCH_ENVS\[", body, re.M), f"rule {rule}: conda by device kind"
            continue
        m = re.search(r"^\s+conda:\s+\"\.\./envs/([\w-]+)\.yaml\"", body, re.M)
        assert m, f"rule {rule} has no conda: directive"
        assert m.group(1) == ENV_OF_RULE.get(rule, "literature"), rule
    for env in (ROOT / "envs").glob("*.yaml"):
        spec = yaml.safe_load(env.read_text())
        assert set(spec) == {"name", "channels", "dependencies"}, env.name
        pip = [d for d in spec["dependencies"] if isinstance(d, dict)][0]["pip"]
        pins = [p for p in pip if not p.startswith("--")]
        assert pins and all(re.fullmatch(r"[\w.-]+==[\w.]+", p) for p in pins), (env.name, pins)
        assert "snakemake==9.27.1" in pins  # the script preamble unpickles Snakemake's objects
