"""Report charts keep contexts apart: routing rows of several phases/workloads are one line per context, in Chromium."""
from __future__ import annotations

import re

import pandas as pd
from test_report import dump_dom
from test_verdicts_data import bench_row

from sovereign.report.charts import routing_chart, versus_batch
from sovereign.report.vega import bundle_tag, embed_div, javascript_bundle

PHASES, WORKLOADS, STRATEGIES, BATCHES = ("prefill", "decode"), ("vqav2", "visual7w"), ("ondemand", "top1", "top2"), (1, 4, 16)


def routing_bench() -> pd.DataFrame:
    rows = []
    for i, phase in enumerate(PHASES):
        for j, workload in enumerate(WORKLOADS):
            for k, strategy in enumerate(STRATEGIES):
                for b in BATCHES:
                    # contexts differ by orders of magnitude: a line joining them would zig-zag
                    ips = b * 100.0 * (10 ** (2 * i + j)) / (k + 1)
                    rows.append(bench_row("h200", "moe", strategy, "bf16", b, ips, suite="moe_routing",
                                          phase=phase, workload=workload, dispatch="grouped"))
    return pd.DataFrame(rows)


def line_marks(dom: str) -> list[int]:
    """Line marks per drawn chart, in page order."""
    charts = re.split(r'<svg[^>]*class="marks"', dom)[1:]
    return [len(re.findall(r'aria-roledescription="line mark"', c)) for c in charts]


def draw(tmp_path, specs: dict) -> list[int]:
    page = tmp_path / "charts.html"
    page.write_text("<!doctype html><html><head><meta charset='utf-8'>" + bundle_tag(javascript_bundle(str(tmp_path)))
                    + "</head><body>" + "".join(embed_div(n, s) for n, s in specs.items()) + "</body></html>",
                    encoding="utf-8")
    return line_marks(dump_dom(page, tmp_path))


def test_throughput_and_routing_charts_draw_one_line_per_context(tmp_path):
    bench = routing_bench()
    contexts = len(PHASES) * len(WORKLOADS) * len(STRATEGIES)
    specs = {"throughput": versus_batch(bench, "throughput_ips", "Throughput").to_dict(),
             "latency": versus_batch(bench, "latency_ms_p50", "Latency").to_dict(),
             "routing": routing_chart(bench).to_dict()}
    marks = draw(tmp_path, specs)
    assert marks[0] == contexts and marks[1] == contexts  # one line per (phase, workload, strategy)
    # routing: latency and throughput rows faceted by phase/workload (4 panels x 3 strategies each), then speed-up
    assert sum(marks[2:]) >= 2 * contexts
    # the data behind each line: one context, every batch size once
    spec = specs["throughput"]
    values = next(iter(spec["datasets"].values()))
    per_series = pd.DataFrame(values).groupby("series")["batch_size"].apply(sorted)
    assert len(per_series) == contexts and all(v == list(BATCHES) for v in per_series)


def test_one_context_keeps_the_plain_series_name():
    bench = routing_bench()
    one = bench[(bench.phase == "prefill") & (bench.workload == "vqav2")]
    spec = versus_batch(one, "throughput_ips", "Throughput").to_dict()
    names = {v["series"] for v in next(iter(spec["datasets"].values()))}
    assert names == {f"h200 / {s} / bf16" for s in STRATEGIES}


def test_model_level_routing_rows_get_their_own_panels():
    from sovereign.report.charts import routing_rows

    bench = routing_bench()
    model = bench[bench["phase"] == "prefill"].assign(level="model", phase="request")
    rows = routing_rows(pd.concat([bench.assign(level="block"), model], ignore_index=True))
    panels = set(rows["panel"])
    assert {"whole model, e2e per request / vqav2", "whole model, e2e per request / visual7w"} <= panels
    assert "prefill / vqav2" in panels and not any(p.startswith("request") for p in panels)
