# Validation and small helpers shared by every stage. Keep it small.
import json
import os
import sys

sys.path.insert(0, workflow.basedir)

from pathlib import Path

from sovereign.config import compose_config, read_yaml_file, sorted_keys, validate_config
from sovereign.errors import ConfigError
from sovereign.literature.queries import load_expansions, plan_queries
from sovereign.literature.fallback import next_live_attempt


def _compose_workflow_config():
    """The defaults file, then the user's --configfile files, then --config values (sovereign.config.compose_config).

    Snakemake itself merges a user file into the defaults key by key, so a file naming one study would run
    the default studies too; this rebuilds the config from the same files with `studies` replaced."""
    settings = workflow.config_settings
    overlays = [Path(p).resolve() for p in settings.configfiles]
    loaded = [Path(p).resolve() for p in workflow.configfiles if Path(p).resolve() not in overlays]
    defaults = loaded[0] if loaded else Path(workflow.basedir, "config", "config.yaml").resolve()
    return compose_config(
        read_yaml_file(defaults),
        [read_yaml_file(p) for p in overlays if p != defaults],
        settings.config,
    )


try:
    # keys sorted: params built from the config then hash the same whatever order a file lists them in
    _validated = sorted_keys(validate_config(_compose_workflow_config()))
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
config.clear()
config.update(_validated)


def resource_path(path):
    """A shipped resource named relative to the repository still resolves when run with --directory."""
    if not path or os.path.isabs(path) or os.path.exists(path):
        return path
    shipped = os.path.join(workflow.basedir, path)
    return shipped if os.path.exists(shipped) else path


for _key in ("snapshot_path", "expansions_path"):
    config["literature"][_key] = resource_path(config["literature"][_key])

STUDIES = sorted(config["studies"])
# Suites some study checks against; only their benchmarks run (when no study names one, all run).
STUDY_SUITES = {suite for s in config["studies"].values() for suite in s.get("suites", [])}


def suite_runs(suite):
    """Whether this run benchmarks `suite`: a study of this config names it (or no study names any)."""
    return not STUDY_SUITES or suite in STUDY_SUITES


# Stages register what load_warehouse reads: table name -> input function.
WAREHOUSE_INPUTS = {}
# Stages register extra final targets (besides the warehouse and the reports).
FINAL_TARGETS = []


wildcard_constraints:
    study="[a-z][a-z0-9_]*",
    qid="q[0-9a-f]{10}",


EXPANSIONS = load_expansions(config["literature"]["expansions_path"]) if config["literature"]["expansions_path"] else []


def study_queries(study):
    """The planned queries of a study (deterministic, so known before any job runs)."""
    s = config["studies"][study]
    return plan_queries(
        s.get("question"), s.get("queries"), config["literature"]["min_queries"], EXPANSIONS, s.get("papers")
    )


def study_question(study):
    """The study's question; a study pinned to papers without one is about those papers' claims."""
    s = config["studies"][study]
    if s.get("question"):
        return s["question"]
    return "Do the claims of arXiv " + ", ".join(s["papers"]) + " hold on this hardware?"


def query_by_id(study, qid):
    for q in study_queries(study):
        if q["query_id"] == qid:
            return q
    raise WorkflowError(f"study {study} has no query {qid}")


def get_final_targets():
    targets = [config["warehouse"]]
    targets += expand("results/report/{study}.html", study=STUDIES)
    return targets + FINAL_TARGETS


# An `auto` search that fell back to the snapshot searches live again (rules/literature.smk says how).
_ANNOUNCED = set()


def live_attempt_param(output, what):
    """The live_attempt param of an `auto` search writing `output` (None for other sources); says when it retries."""
    if config["literature"]["source"] != "auto":
        return None
    attempt, fell_back = next_live_attempt(output)
    if fell_back and output not in _ANNOUNCED:
        _ANNOUNCED.add(output)
        print(
            f"sovereign: {what} fell back to the offline snapshot in an earlier run; it searches arXiv live "
            f"again (attempt {attempt}) and replaces the fallback rows",
            file=sys.stderr,
        )
    return attempt
