"""Config validation: defaults filled, and every invalid value named by its key."""
from __future__ import annotations

import pytest

from sovereign.config import config_hash, load_config, validate_config
from sovereign.errors import ConfigError


def test_default_config_is_valid(root):
    cfg = load_config(root / "config" / "config.yaml")
    assert set(cfg["studies"]) >= {"gpu", "routing", "cpu", "llm"}
    # the study the default CPU run can test: its claims are about ResNet-50, so the CPU grid must run it
    assert cfg["studies"]["cpu"]["suites"] == ["cnn"]
    assert cfg["studies"]["llm"]["suites"] == ["llm"]  # LLM claims are checked against the llm suite's rows
    assert "resnet50" in cfg["bench"]["suites"]["cnn"]["cpu"]["models"]
    assert cfg["bench"]["suites"]["cnn"]["cpu"]["backends"]["onnxruntime"] == ["fp32", "int8"]
    assert cfg["literature"]["source"] == "snapshot"
    assert cfg["screening"]["tfidf_threshold"] == 0.15


def test_defaults_are_filled_from_schema(base_config):
    del base_config["literature"]["arxiv"]
    del base_config["screening"]["drift_tfidf"]
    cfg = validate_config(base_config)
    assert cfg["literature"]["arxiv"]["delay_s"] == 3.0
    assert cfg["literature"]["arxiv"]["timeout_s"] == 30
    assert cfg["screening"]["drift_tfidf"] == 0.05
    assert cfg["studies"]["gpu"]["queries"] == []


def test_defaults_fill_omitted_sections_and_are_not_shared(base_config):
    # the two things snakemake.utils.validate(set_default=True) does differently (sovereign/config.py)
    del base_config["bench"]["suites"]["cnn"]["timing"]
    for study in base_config["studies"].values():
        study.pop("queries", None)
    cfg = validate_config(base_config)
    assert cfg["bench"]["suites"]["cnn"]["timing"]["warmup"] == 5 and cfg["bench"]["suites"]["cnn"]["timing"]["repeats"] == 3
    assert cfg["studies"]["gpu"]["queries"] == cfg["studies"]["routing"]["queries"] == []
    assert cfg["studies"]["gpu"]["queries"] is not cfg["studies"]["routing"]["queries"]


def _set(cfg, dotted, value):
    *parents, last = dotted.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()

INVALID = [
    ("literature.source", "bing", r"'literature\.source': 'bing' is not allowed; use one of 'arxiv', 'snapshot', 'auto'"),
    ("screening.tfidf_threshold", 1.5, r"'screening\.tfidf_threshold': 1\.5 violates maximum 1"),
    ("screening.tfidf_threshold", "high", r"'screening\.tfidf_threshold': expected number"),
    ("literature.max_results", 0, r"'literature\.max_results': 0 violates minimum 1"),
    ("literature.arxiv.timeout_s", 0, r"'literature\.arxiv\.timeout_s': 0 violates exclusiveMinimum 0"),
    ("literature.arxiv.base_url", "ftp://example", r"'literature\.arxiv\.base_url'"),
    ("embeddings.backend", "word2vec", r"'embeddings\.backend': 'word2vec' is not allowed; use one of 'minilm', 'openai', 'none'"),
    ("studies.gpu.question", _DELETE, r"'studies\.gpu\.question' is required"),
    ("studies.gpu.question", "short", r"'studies\.gpu\.question'"),
    ("studies.gpu.suites", ["cnn", "bert"], r"'studies\.gpu\.suites\.1': 'bert' is not allowed"),
    ("studies.gpu.queries", "one query", r"'studies\.gpu\.queries': expected array"),
    ("literature.sourse", "snapshot", r"'literature\.sourse' is not a known setting here; known keys: .*source"),
    ("literature.fulltext.enabled", "yes", r"'literature\.fulltext\.enabled': expected boolean"),
    ("warehouse", _DELETE, r"'warehouse' is required"),
]


@pytest.mark.parametrize("key,value,message", INVALID, ids=[f"{k}={v!r}"[:40] for k, v, _ in INVALID])
def test_invalid_value_names_the_key(base_config, key, value, message):
    _set(base_config, key, value)
    with pytest.raises(ConfigError, match=message):
        validate_config(base_config)


def test_bad_study_name_is_named(base_config):
    base_config["studies"]["GPU Study"] = base_config["studies"].pop("gpu")
    with pytest.raises(ConfigError, match=r"'studies\.GPU Study': invalid name; Study names are lower-case"):
        validate_config(base_config)


def test_no_studies(base_config):
    base_config["studies"] = {}
    with pytest.raises(ConfigError, match=r"'studies'"):
        validate_config(base_config)


def test_duplicate_queries(base_config):
    base_config["studies"]["gpu"]["queries"] = ["L4 vs T4", "l4 vs t4"]
    with pytest.raises(ConfigError, match=r"'studies\.gpu\.queries': the same query is listed twice"):
        validate_config(base_config)


def test_empty_or_broken_yaml(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(empty)
    broken = tmp_path / "broken.yaml"
    broken.write_text("studies: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_config_hash_is_stable_and_sensitive(base_config):
    a = config_hash(base_config)
    assert a == config_hash(dict(reversed(list(base_config.items()))))
    base_config["screening"]["tfidf_threshold"] = 0.2
    assert config_hash(base_config) != a
