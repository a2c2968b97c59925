"""The study report: drawn in a real headless browser, offline, with hostile paper text shown escaped."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_verdicts_data import GPU_PAPERS, bench_row, claim, cnn_rows, write_study, write_reference_file
from workflow import snakemake, write_config

from sovereign.report.render_html import render_report
from sovereign.verdicts.check import check_claims
from sovereign.verdicts.tribunal import run_tribunal
from sovereign.verdicts.views import verdict_views
from sovereign.warehouse import load_warehouse, query

HOSTILE_TITLE = '<script>alert(1)</script> "quoted" & \'single\' <b>bold</b> GPU inference'
HOSTILE_SENTENCE = '<img src=x onerror=alert(2)> The L4 reaches up to 8,000 images/s "really" & more.'
MD_SECTIONS = ["## Abstract", "## Introduction", "## Methodology", "## Results", "## Uncertainties",
               "## Extracted Claims", "## References"]


def dump_dom(html_path: Path, tmp: Path) -> str:
    """Open a file in headless Chromium with the network off and return the DOM after scripts ran."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is not installed: run tools/system-deps.sh (it is listed in tools/apt-packages.txt)"
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    res = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run",
                          f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom",
                          html_path.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def drawn_charts(dom: str) -> int:
    """Charts Vega drew: SVG roots with class 'marks' holding at least one mark group."""
    roots = re.findall(r'<svg[^>]*class="marks"[^>]*>', dom)
    assert all('role="graphics-document"' in dom for _ in roots)
    return len(roots)


def build_hostile_study(tmp_path: Path, reference: tuple = ()) -> dict:
    papers = [dict(p) for p in GPU_PAPERS]
    papers[0]["title"] = HOSTILE_TITLE
    claims = [claim("c1", "2604.14552", "L4 throughput is 4 times the T4.", kind="ratio", metric="throughput",
                    value=4.0, unit="x", subject_device="l4", baseline_device="t4"),
              claim("c2", "2604.14552", HOSTILE_SENTENCE, kind="absolute", metric="throughput", value=8000,
                    unit="images/s", qualifier="up_to", subject_device="l4", subject_model="resnet18"),
              claim("c3", "1903.07486", "A T4 runs ResNet-50 with TensorRT INT8.", kind="absolute", metric="throughput",
                    value=6036, unit="images/s", subject_device="t4", subject_model="resnet50",
                    subject_backend="tensorrt", subject_precision="int8")]
    bench = {"l4": cnn_rows("l4", 4.0), "t4": cnn_rows("t4", 1.0),
             "cpu": cnn_rows("cpu", 0.05, batches=(1, 8), precisions=("fp32",))
             + [bench_row("cpu", "resnet18", "tensorrt", "int8", 1, None, status="unavailable",
                          reason="tensorrt <not installed> & no GPU")]}
    paths = write_study(tmp_path, "gpu", "How does <i>L4</i> compare with T4 for inference?", papers, claims, bench)
    d = tmp_path / "results" / "gpu"
    check_claims("gpu", paths["claims"], paths["support"], paths["bench"], str(d / "cc.parquet"), ["cnn"])
    run_tribunal("gpu", "How does <i>L4</i> compare with T4 for inference?", paths["screening"], paths["papers"],
                 paths["claims"], str(d / "cc.parquet"), paths["bench"], ["cnn"], str(d / "verdict.json"),
                 str(d / "tr.parquet"), str(d / "v.parquet"), str(d / "ccf.parquet"), support_path=paths["support"],
                 fulltext_path=paths["fulltext"])
    db = tmp_path / "w.duckdb"
    load_warehouse(str(db), {"papers": [paths["papers"]], "queries": [paths["queries"]], "claims": [paths["claims"]],
                             "claim_support": [paths["support"]], "bench_results": paths["bench"] + list(reference),
                             "claim_checks": [str(d / "ccf.parquet")], "tribunal_reviews": [str(d / "tr.parquet")],
                             "verdicts": [str(d / "v.parquet")]}, "test", views=verdict_views())
    return {"db": db, "screening": paths["screening"]}


def test_report_draws_its_charts_offline_and_shows_hostile_text_escaped(tmp_path):
    ref = write_reference_file(tmp_path / "elsewhere" / "h200", "cnn.parquet", cnn_rows("h200", 30.0),
                               date="2026-11-29T05:47:00Z")
    built = build_hostile_study(tmp_path, reference=(ref,))
    out = tmp_path / "report"
    res = render_report(str(built["db"]), "gpu", "How does <i>L4</i> compare with T4 for inference?",
                        built["screening"], str(out / "gpu.html"), out_md=str(out / "gpu.md"),
                        charts_dir=str(out / "gpu"), suites=["cnn"], cache_dir=str(tmp_path / "cache"))
    html = (out / "gpu.html").read_text(encoding="utf-8")
    assert "http://" not in html.split("<body>")[0].replace("http://www.w3.org", "")  # nothing fetched
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &amp; &#x27;single&#x27; &lt;b&gt;bold" in html
    dom = dump_dom(out / "gpu.html", tmp_path)
    # throughput, latency, speed-up, claims, tribunal (no routing suite here), and the committed H200 rows
    assert drawn_charts(dom) == 6
    assert re.search(r'class="mark-(line|symbol|rect)', dom)
    assert not re.search(r'id="chart-[0-9a-f]+">chart failed', dom)
    assert len(re.findall(r"<script\b", dom)) == 1 + 6  # the inlined bundle and one per chart: nothing injected
    text = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)  # markup outside the page's own scripts
    assert "<img" not in text and "<b>bold" not in text and "<i>L4" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;img src=x onerror=alert(2)&gt;" in text
    assert "tensorrt &lt;not installed&gt; &amp; no GPU" in text
    # the reference rows: apart from this run's, labelled with origin, hardware, date and commit
    assert "Reference measurements (2026-11-29T05:47:00Z): NVIDIA H200" in text
    assert ("origin <code>reference</code>: measured on NVIDIA H200 (device entry h200) by this project's benchmark "
            "harness on 2026-11-29T05:47:00Z, commit <code>e3f23cab1c9f</code>") in text
    measured = text.split("<h2>Measurements</h2>")[1].split("<h2>")[0]
    assert "NVIDIA L4" in measured and "H200" not in measured
    md = (out / "gpu.md").read_text(encoding="utf-8")
    assert [s for s in MD_SECTIONS if s in md] == MD_SECTIONS
    assert [md.index(s) for s in MD_SECTIONS] == sorted(md.index(s) for s in MD_SECTIONS)
    assert "<script>" not in md and "<img" not in md and "&lt;script&gt;alert\\(1\\)" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "REPRODUCED" in md and "UNTESTABLE" in md
    for name in ("throughput", "latency", "speedup", "claims", "tribunal", "routing"):
        assert (out / "gpu" / f"{name}.svg").read_text().lstrip().startswith("<svg")
        assert (out / "gpu" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # no routing rows: the page draws no routing chart, its image file says nothing here bears on the question
    assert "bears on this study" in (out / "gpu" / "routing.svg").read_text() and res["charts"] == [
        "throughput", "latency", "speedup", "claims", "tribunal"]
    assert len(res["files"]) == 2 + 12


def test_verdict_views_answer_the_common_questions(tmp_path):
    db = str(build_hostile_study(tmp_path)["db"])
    best = query(db, "SELECT device, precision, best_ips, batch_size FROM best_throughput WHERE device = 'l4' "
                     "ORDER BY best_ips DESC")
    assert best.to_dict("records")[0] == {"device": "l4", "precision": "fp16", "best_ips": 7968.75, "batch_size": 64}
    sp = query(db, "SELECT max(speedup) AS s FROM speedup_vs_cpu WHERE device = 'l4' AND precision = 'fp16'")
    assert sp.s[0] == pytest.approx(160.0)
    status = query(db, "SELECT * FROM claim_status").to_dict("records")[0]
    assert (status["claims"], status["reproduced"], status["untestable"]) == (3, 2, 1)
    verdict = query(db, "SELECT * FROM study_verdict").to_dict("records")[0]
    assert verdict["decision"] == status["decision"] and verdict["rounds"] in (1, 2)
    # one count of verified claims: the claims view and the verdict agree
    assert status["verified"] == verdict["verified_claims"]


def test_speedup_view_divides_by_the_configured_cpu_baseline(tmp_path):
    bench = tmp_path / "bench.parquet"
    pd.DataFrame([bench_row("cpu", "resnet18", "torch_eager", "fp32", 8, 100.0),
                  bench_row("cpu", "resnet18", "onnxruntime_cpu", "int8", 8, 250.0),
                  bench_row("l4", "resnet18", "tensorrt", "int8", 8, 5000.0)]).to_parquet(bench)
    db = str(tmp_path / "w.duckdb")
    sql = "SELECT speedup FROM speedup_vs_cpu WHERE device = 'l4'"
    load_warehouse(db, {"bench_results": [str(bench)]}, "a", views=verdict_views())
    assert query(db, sql).speedup.tolist() == [pytest.approx(50.0)]  # over PyTorch FP32, the default
    load_warehouse(db, {"bench_results": [str(bench)]}, "b", views=verdict_views("ort", "INT8"))
    assert query(db, sql).speedup.tolist() == [pytest.approx(20.0)]  # 'ort' is an alias of onnxruntime_cpu


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The default configuration run by the real workflow in a temporary directory."""
    root = Path(__file__).resolve().parent.parent
    work = tmp_path_factory.mktemp("default_run")
    cfg = yaml.safe_load((root / "config" / "config.yaml").read_text())
    write_config(work, cfg)
    res = snakemake(work, timeout=1500)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    return work


def test_default_run_reports_open_offline_with_charts_drawn(default_run, tmp_path):
    # charts only of rows that bear on the question: the gpu question (L4 vs T4) draws none of the CPU rows
    least = {"gpu": 1, "routing": 2, "cpu": 5}
    for study in ("gpu", "routing", "cpu"):
        page = default_run / "results" / "report" / f"{study}.html"
        dom = dump_dom(page, tmp_path)
        assert drawn_charts(dom) >= least[study], study
        if study == "gpu":
            assert "Throughput versus batch size" not in dom and "Speed-up over the CPU baseline" not in dom
        assert not re.search(r'id="chart-[0-9a-f]+">chart failed', dom)
        md = (default_run / "results" / "report" / f"{study}.md").read_text(encoding="utf-8")
        assert [md.index(s) for s in MD_SECTIONS] == sorted(md.index(s) for s in MD_SECTIONS)
    routing = (default_run / "results" / "report" / "routing.html").read_text(encoding="utf-8")
    assert "shape-matched synthetic workloads" in routing and "not the VQAv2 or Visual7W datasets" in routing


def test_default_run_revision_rounds_searched_again(default_run):
    for study in ("gpu", "routing", "cpu"):
        verdict = json.loads((default_run / "results" / study / "verdict.json").read_text(encoding="utf-8"))
        assert verdict["rounds"][0]["decision"] == "REVISE"  # the default corpus never satisfies round 1
        requery = verdict["revision"]["requery"]
        assert 1 <= len(requery["queries"]) <= 3 and all(q["records"] > 0 for q in requery["queries"]), requery
        page = (default_run / "results" / "report" / f"{study}.html").read_text(encoding="utf-8")
        assert "refined searches: &ldquo;" + html.escape(requery["queries"][0]["text"], quote=True) in page


def test_report_first_screen_shows_the_answer_then_the_verdict(tmp_path):
    """The routing case of the labelled scenarios, rendered: the answer (on-demand vs top-2 by phase, from the
    rows) opens the page, the verdict follows, both on the first 1280x900 screen; a screenshot is kept."""
    import scenarios

    case = next(c for c in scenarios.load() if c["name"] == "routing_answered_activation_claims_untested")
    scenarios.run(case, tmp_path)
    d = tmp_path / "results" / "routing"
    db = tmp_path / "w.duckdb"
    load_warehouse(str(db), {"papers": [str(d / "papers.parquet")], "claims": [str(d / "on_frame.parquet")],
                             "bench_results": sorted(str(p) for p in (tmp_path / "results" / "bench").glob("*.parquet")),
                             "claim_checks": [str(d / "final.parquet")], "tribunal_reviews": [str(d / "reviews.parquet")],
                             "verdicts": [str(d / "verdicts.parquet")], "study_frames": [str(d / "study_frames.parquet")],
                             "answers": [str(d / "answers.parquet")]}, "test", views=verdict_views())
    out = tmp_path / "report"
    render_report(str(db), "routing", case["question"], str(d / "screening.json"), str(out / "routing.html"),
                  out_md=str(out / "routing.md"), suites=["moe_routing"], images=False, cache_dir=str(tmp_path / "cache"),
                  frame_path=str(d / "frame.json"))
    page = (out / "routing.html").read_text(encoding="utf-8")
    assert page.index('id="answer"') < page.index('id="verdict"') < page.index("<h2>What the question is about")
    assert ('<td class="nw">dataset</td><td class="nw"></td><td class="nw">visual7w</td><td class="nw">yes</td>'
            '<td>2511.18314</td>') in page  # coverage per element
    assert "on-demand vs top-k routing: " in page and "-17% against top-2" in page and "in prefill" in page
    md = (out / "routing.md").read_text(encoding="utf-8")
    assert md.index("## Answer") < md.index("## Verdict") < md.index("## Abstract")
    assert "ESCALATE\\_TO\\_OWNER" in md.split("## Abstract")[0]
    # lay the page out in Chromium and read where the two headings landed on a 1280x900 screen
    probe = out / "probe.html"
    head, tail = page.rsplit("</body>", 1)  # the page's own closing tag, not one inside the inlined bundle
    probe.write_text(head + "<script>for (const id of ['answer', 'verdict']) {const r = document.getElementById(id)"
                     ".nextElementSibling.getBoundingClientRect(); document.body.setAttribute('data-' + id, "
                     "Math.round(r.bottom));} document.body.setAttribute('data-screen', window.innerHeight);</script>"
                     "</body>" + tail, encoding="utf-8")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                          f"--user-data-dir={tmp_path / 'prof'}", "--virtual-time-budget=5000", "--dump-dom",
                          probe.resolve().as_uri()], capture_output=True, text=True, timeout=120).stdout
    shot = Path(__file__).resolve().parent.parent / "results" / "screenshots" / "routing_first_screen.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path / 'prof2'}", "--virtual-time-budget=5000", f"--screenshot={shot}",
                    (out / "routing.html").resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"\nfirst-screen screenshot: {shot}")
    at = {k: int(v) for k, v in re.findall(r'data-(answer|verdict|screen)="(\d+)"', dom)}
    assert 0 < at["answer"] < at["verdict"] <= at["screen"], at
