"""An invalid config stops Snakemake before any rule runs, naming the key."""
from __future__ import annotations

import pytest
import yaml

from workflow import ROOT, snakemake, write_config


@pytest.mark.parametrize("mutate,message", [
    (lambda c: c["literature"].update(source="google"), "config key 'literature.source': 'google' is not allowed"),
    (lambda c: c["screening"].update(tfidf_threshold=-1), "config key 'screening.tfidf_threshold': -1 violates minimum 0"),
])
def test_snakemake_refuses_invalid_config(tmp_path, mutate, message):
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    mutate(cfg)
    write_config(tmp_path, cfg)
    res = snakemake(tmp_path, "-n", timeout=120)
    assert res.returncode != 0
    assert message in res.stdout + res.stderr
    assert not (tmp_path / "results").exists()
