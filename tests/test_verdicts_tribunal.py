"""The tribunal: topic drift is never accepted, the revision round gathers evidence, the LLM backend adds a view."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from test_verdicts_data import GPU_PAPERS, bench_row, claim, cnn_rows, write_reference_file, write_study

from sovereign.verdicts.check import check_claims
from sovereign.verdicts.frame import frame_study
from sovereign.verdicts.tribunal import run_tribunal

GPU_Q = "How does inference latency and throughput of NVIDIA L4 compare with T4 across precisions and batch sizes?"
ROUTING_Q = ("How does the inference latency and throughput of AnyExperts' on-demand routing strategy compare to fixed "
             "routing baselines (e.g., top-k routing) across varying batch sizes on standard multimodal benchmarks "
             "like VQAv2 and Visual7W?")
GPU_CLAIMS = [
    claim("g1", "2604.14552", "L4 throughput is 4 times the T4.", kind="ratio", metric="throughput", value=4.0, unit="x",
          subject_device="l4", baseline_device="t4"),
    claim("g2", "2604.14552", "The L4 reaches up to 8,000 images/s.", kind="absolute", metric="throughput", value=8000,
          unit="images/s", qualifier="up_to", subject_device="l4", subject_model="resnet18"),
    claim("g3", "1903.07486", "The T4 reaches up to 2,000 images/s.", kind="absolute", metric="throughput", value=2000,
          unit="images/s", qualifier="up_to", subject_device="t4", subject_model="resnet18"),
    claim("g4", "1903.07486", "FP16 raises T4 throughput from 500 to 1,000 images/s.", kind="change",
          metric="throughput", value_from=500, value_to=1000, unit="images/s", subject_device="t4",
          subject_precision="fp16", baseline_precision="fp32"),
    claim("g5", "2604.14552", "On the L4, FP16 doubles FP32 throughput.", kind="ratio", metric="throughput", value=2.0,
          unit="x", subject_device="l4", subject_precision="fp16", baseline_precision="fp32"),
    claim("g6", "2604.14552", "T4 efficiency peaks at batch sizes 16 to 32.", kind="batch_range", metric="efficiency",
          low=16, high=32, subject_device="t4"),
]
GPU_BENCH = {"cnn_l4": cnn_rows("l4", 4.0), "cnn_t4": cnn_rows("t4", 1.0)}


def judge(tmp_path: Path, study: str, question: str, papers, claims, bench, suites, study_drift=False, **kw) -> dict:
    """The stages in DAG order: frame_study (on-frame claims), check_claims, tribunal."""
    paths = write_study(tmp_path, study, question, papers, claims, bench, study_drift=study_drift)
    d = tmp_path / "results" / study
    frame_study(study, question, paths["claims"], paths["papers"], str(d / "frame.json"), str(d / "on_frame.parquet"),
                str(d / "study_frames.parquet"), fulltext_path=paths["fulltext"])
    paths["claims"] = str(d / "on_frame.parquet")
    check_claims(study, paths["claims"], paths["support"], paths["bench"], str(d / "claim_checks.parquet"), suites)
    kw.setdefault("frame_path", str(d / "frame.json"))
    kw.setdefault("out_answer", str(d / "answer.json"))
    verdict = run_tribunal(study, question, paths["screening"], paths["papers"], paths["claims"],
                           str(d / "claim_checks.parquet"), paths["bench"], suites, str(d / "verdict.json"),
                           str(d / "reviews.parquet"), str(d / "verdicts.parquet"), str(d / "checks_final.parquet"),
                           support_path=paths["support"], fulltext_path=paths["fulltext"],
                           embed_cfg=kw.pop("embed_cfg", {"backend": "none"}), **kw)
    verdict["_dir"] = d
    return verdict


def test_gpu_evidence_answering_a_gpu_question_is_accepted(tmp_path):
    v = judge(tmp_path, "gpu", GPU_Q, GPU_PAPERS, GPU_CLAIMS, GPU_BENCH, ["cnn"])
    assert v["decision"] == "ACCEPT", v
    assert v["verified_claims"] == 6 and v["score"] >= 6.5 and v["round"] == 1
    reviews = pd.read_parquet(v["_dir"] / "reviews.parquet")
    assert sorted(reviews["role"]) == ["SKEPTIC", "SYNTHESIZER", "VALIDATOR"]
    validator = reviews.set_index("role").loc["VALIDATOR", "rationale"]
    assert "claim:g1" in validator and "bench:cnn/l4/" in validator and "paper:1903.07486" in validator
    skeptic = reviews.set_index("role").loc["SKEPTIC", "rationale"]
    assert "random or synthetic calibration" in skeptic.lower() or "calibration data" in skeptic


@pytest.mark.parametrize("screening_drift", [False, True])
def test_routing_question_with_only_gpu_benchmark_evidence_is_never_accepted(tmp_path, screening_drift):
    v = judge(tmp_path, "routing", ROUTING_Q, GPU_PAPERS, GPU_CLAIMS, GPU_BENCH, ["cnn"], study_drift=screening_drift)
    assert v["decision"] == "REJECT"
    # the GPU claims hold, but they are off the routing question's frame: none is checked or counted
    assert v["verified_claims"] == 0
    frame = json.loads((v["_dir"] / "frame.json").read_text())
    assert {c["claim_id"] for c in frame["off_frame"]} == {c["claim_id"] for c in GPU_CLAIMS}
    assert all("the question asks about expert routing" in c["reason"] for c in frame["off_frame"])
    assert pd.read_parquet(v["_dir"] / "claim_checks.parquet").empty
    assert any(r.startswith("topic drift") for r in v["reasons"])
    assert "anyexperts" in " ".join(v["reasons"]).lower()
    rows = pd.read_parquet(v["_dir"] / "verdicts.parquet")
    assert rows["decision"].tolist() == ["REVISE", "REJECT"]
    assert rows["drift"].all() and "topic drift" in rows["reasons"].iloc[-1]
    assert (rows["score"] <= 3).all()


def test_contradicted_claim_rejects(tmp_path):
    claims = GPU_CLAIMS + [claim("bad", "2604.14552", "The L4 reaches 40,000 images/s on ResNet-18.", kind="absolute",
                                 metric="throughput", value=40000, unit="images/s", subject_device="l4",
                                 subject_model="resnet18")]
    v = judge(tmp_path, "gpu", GPU_Q, GPU_PAPERS, claims, GPU_BENCH, ["cnn"])
    assert v["decision"] == "REJECT"
    assert v["reasons"][0] == "claims contradicted by measurement: bad"
    assert v["reasons"][1:] == ["VALIDATOR: 6 claims reproduced"]  # the synthesizer cites both roles


def test_revision_round_gathers_evidence_and_rows_show_what_changed(tmp_path):
    papers = GPU_PAPERS + [
        {"paper_id": "9999.00001", "title": "A field report on inference accelerators", "kept": False,
         "abstract": "We measured that L4 throughput is 4 times the T4 on ResNet inference."}]
    moe = [bench_row("cpu", "tiny_8e", s, "fp32", b, 100.0 * b, suite="moe_routing", real_act_per_token=a,
                     phase="prefill", dispatch="grouped", workload="vqav2")
           for b in (1, 4) for s, a in (("topk2", 2.0), ("ondemand", 1.2))]
    ref = write_reference_file(tmp_path / "elsewhere", "h200.csv", cnn_rows("h200", 30.0))  # measured elsewhere
    v = judge(tmp_path, "gpu", GPU_Q, papers, GPU_CLAIMS[:3], {"moe": moe, **GPU_BENCH}, ["moe_routing"],
              embed_cfg={"backend": "minilm"}, keep_threshold=0.45, reference_paths=[ref])
    rows = pd.read_parquet(v["_dir"] / "verdicts.parquet").set_index("round")
    assert rows.loc[1, "decision"] == "REVISE"
    # the reference H200 rows are seen, never counted as this run's evidence
    assert rows.loc[1, "evidence_devices"] == "cpu" and rows.loc[2, "evidence_devices"] == "cpu,l4,t4"
    assert rows.loc[2, "evidence_suites"] == "cnn,moe_routing"
    changes = json.loads(rows.loc[2, "evidence_changes"])
    assert changes["devices_added"] == ["l4", "t4"] and changes["reference_devices"] == ["h200"]
    assert changes["regrounding_method"].startswith("all-MiniLM-L6-v2")
    assert changes["papers_searched"] == 4  # every fetched paper, kept or not
    moved = {c["claim_id"]: (c["from"], c["to"]) for c in changes["claim_changes"]}
    assert moved == {"g1": ("UNTESTABLE", "REPRODUCED"), "g2": ("UNTESTABLE", "REPRODUCED"),
                     "g3": ("UNTESTABLE", "REPRODUCED")}
    corroborated = {c["claim_id"]: c["paper_id"] for c in changes["corroborated_claims"]}
    assert corroborated.get("g1") == "9999.00001"
    checks = pd.read_parquet(v["_dir"] / "checks_final.parquet").set_index("claim_id")
    assert checks.loc["g1", "status_round1"] == "UNTESTABLE" and checks.loc["g1", "status"] == "REPRODUCED"
    assert checks["changed"].all() and (checks["round"] == 2).all()
    reviews = pd.read_parquet(v["_dir"] / "reviews.parquet")
    r2 = reviews[(reviews["round"] == 2) & (reviews["role"] == "VALIDATOR")]["rationale"].iloc[0]
    assert "corroborated by another fetched paper" in r2 and "9999.00001" in r2
    assert v["decision"] == "ESCALATE_TO_OWNER"  # 3 verified < 5 needed
    assert "3 verified claims < 5 needed" in " ".join(v["reasons"])


class ChatServer:
    """An OpenAI-compatible /v1/chat/completions server on 127.0.0.1 that records requests."""

    def __init__(self, status: int = 200):
        self.requests, outer = [], self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                role = body["messages"][0]["content"].split(" of ")[0].split()[-1]
                answer = {"choices": [{"message": {"role": "assistant", "content": json.dumps(
                    {"score": 7.5, "rationale": f"{role} view: see claim:g1"})}}]}
                data = json.dumps(answer if status == 200 else {"error": "boom"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_llm_backend_adds_its_rationale_beside_the_deterministic_score(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_LLM_KEY", "sekrit")
    plain = judge(tmp_path / "a", "gpu", GPU_Q, GPU_PAPERS, GPU_CLAIMS, GPU_BENCH, ["cnn"])
    with ChatServer() as srv:
        llm = {"enabled": True, "url": srv.url, "model": "tiny-judge", "api_key_env": "TEST_LLM_KEY"}
        v = judge(tmp_path / "b", "gpu", GPU_Q, GPU_PAPERS, GPU_CLAIMS, GPU_BENCH, ["cnn"], tribunal_cfg={"llm": llm})
    assert v["score"] == plain["score"] and v["decision"] == plain["decision"]
    assert len(srv.requests) == 3 and all(r["path"] == "/v1/chat/completions" for r in srv.requests)
    assert srv.requests[0]["auth"] == "Bearer sekrit" and srv.requests[0]["body"]["model"] == "tiny-judge"
    reviews = pd.read_parquet(v["_dir"] / "reviews.parquet").set_index("role")
    base = pd.read_parquet(plain["_dir"] / "reviews.parquet").set_index("role")
    assert (reviews["score"] == base["score"]).all()
    assert (reviews["llm_score"] == 7.5).all() and (reviews["llm_model"] == "tiny-judge").all()
    assert reviews.loc["SKEPTIC", "llm_rationale"] == "SKEPTIC view: see claim:g1"


def test_failing_llm_endpoint_is_recorded_and_the_verdict_stands(tmp_path):
    with ChatServer(status=500) as srv:
        llm = {"enabled": True, "url": srv.url, "model": "tiny-judge"}
        v = judge(tmp_path, "gpu", GPU_Q, GPU_PAPERS, GPU_CLAIMS, GPU_BENCH, ["cnn"], tribunal_cfg={"llm": llm})
    assert v["decision"] == "ACCEPT"
    reviews = pd.read_parquet(v["_dir"] / "reviews.parquet")
    assert reviews["llm_rationale"].str.startswith("LLM backend failed").all() and reviews["llm_score"].isna().all()


def test_study_without_claims_or_measurements_is_escalated_not_crashed(tmp_path):
    v = judge(tmp_path, "gpu", GPU_Q, GPU_PAPERS, [], {}, ["cnn"])
    assert v["decision"] == "ESCALATE_TO_OWNER" and v["round"] == 2
    assert "0 verified claims < 5 needed" in " ".join(v["reasons"])
    assert pd.read_parquet(v["_dir"] / "checks_final.parquet").empty


def test_revision_round_searches_again_with_refined_queries_and_records_what_they_found(tmp_path):
    from sovereign.io import read_json, write_jsonl
    from sovereign.verdicts.requery import requery_arxiv

    corpus = tmp_path / "corpus.jsonl"
    write_jsonl(corpus, [
        {"id": "2511.18314", "title": "AnyExperts: on-demand expert allocation for multimodal mixture-of-experts models",
         "authors": ["Y. Gao"], "published": "2025-11-23", "categories": ["cs.CV"],
         "abstract": "On-demand routing of AnyExperts against top-k routing on VQAv2 and Visual7W: inference latency "
                     "and throughput across batch sizes, with fewer expert activations."},
        {"id": "2101.00001", "title": "Sourdough fermentation kinetics", "authors": ["B. Baker"],
         "published": "2021-01-01", "categories": ["q-bio"], "abstract": "Yeast and bacteria in bread dough."},
        {**{k: GPU_PAPERS[0][k] for k in ("title", "abstract")}, "id": GPU_PAPERS[0]["paper_id"], "authors": ["K. P."],
         "published": "2026-04-16", "categories": ["cs.PF"]},
    ])
    claims = [claim("r1", "2604.14552", "On-demand routing saves 40% of expert activations versus top-k.", kind="change",
                    metric="expert_activations", value=-40, unit="%", subject_method="anyexperts",
                    baseline_method="top-k")]
    paths = write_study(tmp_path, "routing", ROUTING_Q, GPU_PAPERS, claims, GPU_BENCH)
    d = tmp_path / "results" / "routing" / "revision"
    args = ("routing", ROUTING_Q, paths["queries"], paths["papers"], paths["claims"])
    kw = dict(source="snapshot", snapshot_path=str(corpus), max_results=5, arxiv_cfg=None, max_queries=3,
              fulltext_path=paths["fulltext"])
    summary = requery_arxiv(*args, str(d / "queries.json"), str(d / "records.jsonl"), **kw)
    again = requery_arxiv(*args, str(tmp_path / "q2.json"), str(tmp_path / "r2.jsonl"), **kw)
    assert summary == {**again}  # deterministic
    texts = [q["text"] for q in summary["queries"]]
    assert len(texts) == 3 and len(set(texts)) == 3 and ROUTING_Q[:60] not in texts
    assert [q["origin"] for q in summary["queries"]] == ["missing_term"] * 3  # the question's names no kept paper has
    # BM25 finds the AnyExperts and DEEP-GAP records (never the bread one); DEEP-GAP was seen already
    assert "anyexperts" in texts[0] and summary["new_papers"] == 1

    v = judge(tmp_path, "routing", ROUTING_Q, GPU_PAPERS, claims, GPU_BENCH, ["moe_routing"], keep_threshold=0.15,
              requery_path=str(d / "records.jsonl"))
    rows = pd.read_parquet(v["_dir"] / "verdicts.parquet").set_index("round")
    assert rows.loc[1, "decision"] == "REVISE"
    found = json.loads(rows.loc[2, "evidence_changes"])["requery"]
    assert [q["text"] for q in found["queries"]] == texts
    assert found["papers_not_seen_before"] == 1
    assert [p["paper_id"] for p in found["papers_kept"]] == ["2511.18314"]
    assert rows.loc[2, "evidence_papers"] == rows.loc[1, "evidence_papers"] + 1
    assert read_json(d / "queries.json")["records"] == len((d / "records.jsonl").read_text().splitlines())


def test_refined_queries_name_what_the_claims_are_about_when_the_question_is_covered():
    from sovereign.verdicts.requery import refine_queries

    claims = pd.DataFrame([claim("a", "p", "x", metric="throughput", subject_device="l4", baseline_device="t4",
                                 subject_model="resnet50"),
                           claim("b", "p", "y", metric="latency_ms", subject_device="l4", subject_precision="int8"),
                           claim("c", "p", "z", metric="throughput", subject_device="l4", baseline_device="t4",
                                 subject_model="resnet50")])
    covered = GPU_Q + " " + GPU_PAPERS[0]["abstract"]
    got = refine_queries(GPU_Q, ["l4 t4 resnet50 throughput"], covered, claims, 5)
    assert got == [{"query_id": got[0]["query_id"], "text": "l4 int8 latency ms", "origin": "claim_configuration"}]
    assert refine_queries(GPU_Q, [], covered, claims, 5)[0]["text"] == "l4 t4 resnet50 throughput"  # 2 claims first
    assert refine_queries(GPU_Q, [], "", claims, 0) == []


def test_one_count_of_verified_claims_and_a_class_match_says_why_it_does_not_count(tmp_path):
    rows = [bench_row("cpu", "resnet50", "onnxruntime", p, b, ips, hardware="AMD EPYC 9R14", cpu_model="AMD EPYC 9R14")
            for p, b, ips in (("fp32", 8, 20.0), ("int8", 8, 50.0))]
    c = claim("x", "2602.16858", "INT8 is 2.5x FP32 for ResNet-50 on a Xeon", kind="ratio", metric="throughput",
              value=2.5, unit="x", subject_device="xeon", subject_model="resnet50", subject_precision="int8",
              baseline_precision="fp32")
    q = "How much faster is INT8 than FP32 for ResNet-50 on x86 server CPUs?"
    v = judge(tmp_path, "cpu", q, GPU_PAPERS, [c], {"cnn_cpu": rows}, ["cnn"])
    final = pd.read_parquet(v["_dir"] / "checks_final.parquet").set_index("claim_id")
    assert final.loc["x", "status"] == "REPRODUCED" and not final.loc["x", "counts_as_verified"]
    assert final.loc["x", "verified_note"] == ("measured on AMD EPYC 9R14, a CPU of the claimed class, counted only "
                                              "with verdicts.count_class_matches")
    assert v["verified_claims"] == int(final["counts_as_verified"].sum()) == 0
    counted = judge(tmp_path / "counted", "cpu", q, GPU_PAPERS, [c], {"cnn_cpu": rows}, ["cnn"],
                    verdicts_cfg={"count_class_matches": True})
    final = pd.read_parquet(counted["_dir"] / "checks_final.parquet").set_index("claim_id")
    assert counted["verified_claims"] == int(final["counts_as_verified"].sum()) == 1
