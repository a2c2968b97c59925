"""Claims from PDF tables: generated PDFs (fpdf2) read with pdfplumber into one claim per figure cell."""
from __future__ import annotations

import pandas as pd
import pytest

from sovereign.claims.extract import CLAIM_COLUMNS, ClaimsConfig, claims_frame
from sovereign.claims.parse import SentenceParser
from sovereign.claims.tables import claims_of_table, pdf_table_claims, read_tables
from sovereign.claims.vocab import load_vocab
from sovereign.literature.fulltext import cached_pdf_path

fpdf = pytest.importorskip("fpdf")

THROUGHPUT = ("Table 2: Inference throughput (images/s) with TensorRT FP16 on an NVIDIA A100.",
              [["Model", "Batch 1", "Batch 8", "Batch 32"],
               ["ResNet-18", "1,210", "5,480", "9,830"],
               ["ResNet-50", "640", "2,950", "4,410"],
               ["MobileNetV2", "1,020", "OOM", "7,300"]])
LATENCY = ("Table 3: Median latency (ms) of BERT-Large at batch size 1.",
           [["Device", "PyTorch", "TensorRT"], ["T4", "12.4", "5.8"], ["V100", "8.1", "3.9"]])
NO_UNIT = ("Table 4: Results of the comparison.",
           [["Model", "T4", "L4"], ["ResNet-18", "1,210", "2,480"], ["ResNet-50", "640", "1,310"]])


def make_pdf(path, tables, prose="We benchmark inference of image models on GPUs."):
    """A one-page PDF with a paragraph and ruled tables, each under its caption."""
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, prose)
    pdf.ln(4)
    for caption, rows in tables:
        pdf.multi_cell(0, 5, caption)
        pdf.ln(2)
        with pdf.table(first_row_as_headings=True) as table:
            for r in rows:
                row = table.row()
                for cell in r:
                    row.cell(cell)
        pdf.ln(6)
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def parser():
    return SentenceParser(load_vocab())


def test_table_cells_become_claims_with_header_row_label_and_caption(tmp_path, parser):
    pdf = make_pdf(tmp_path / "p.pdf", [THROUGHPUT, LATENCY])
    tables = read_tables(pdf)
    assert [(t["page"], t["index"]) for t in tables] == [(1, 1), (1, 2)]
    assert tables[0]["caption"].startswith("Table 2: Inference throughput")
    claims = pdf_table_claims(parser, pdf)
    thr = [c for c in claims if c["table_index"] == 1]
    assert len(thr) == 8  # 9 cells, OOM is no figure
    got = {(c["subject_model"], c["subject_batch"]): c["value"] for c in thr}
    assert got[("resnet18", "1")] == 1210 and got[("resnet50", "32")] == 4410 and got[("mobilenet_v2", "32")] == 7300
    assert ("mobilenet_v2", "8") not in got
    c = next(c for c in thr if c["table_row"] == 2 and c["table_col"] == 3)
    assert (c["kind"], c["metric"], c["unit"], c["value"], c["status"]) == ("absolute", "throughput", "images/s", 4410, "ok")
    assert (c["subject_device"], c["subject_backend"], c["subject_precision"]) == ("a100", "tensorrt", "fp16")
    assert c["table_caption"] == tables[0]["caption"] and c["table_page"] == 1
    lat = [c for c in claims if c["table_index"] == 2]
    assert {(c["subject_device"], c["subject_backend"], c["value"]) for c in lat} == {
        ("t4", "pytorch", 12.4), ("t4", "tensorrt", 5.8), ("v100", "pytorch", 8.1), ("v100", "tensorrt", 3.9)}
    # the caption names metric, unit, model and batch for every cell
    assert {(c["metric"], c["unit"], c["subject_model"], c["subject_batch"]) for c in lat} == {("latency_p50", "ms", "bert_large", "1")}


def test_table_without_metric_or_unit_is_a_failed_row_with_its_reason(tmp_path, parser):
    pdf = make_pdf(tmp_path / "p.pdf", [NO_UNIT, THROUGHPUT])
    claims = pdf_table_claims(parser, pdf)
    failed = [c for c in claims if c["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["table_index"] == 1
    assert "no metric or unit in the header, row labels or caption" in failed[0]["reason"]
    assert "table 1 on page 1" in failed[0]["reason"] and failed[0]["value"] is None
    assert sum(c["status"] == "ok" for c in claims) == 8  # the good table still reads


@pytest.mark.parametrize("rows,why", [
    ([["Model", "T4"]], "no header and body"),
    ([["Model", "T4", "L4"], ["ResNet-18", "1.2 ms"]], "row 1 has 2 cells, the header 3"),
    ([["Model", "T4"], ["ResNet-18", "fast"]], "no cell holds a single figure"),
])
def test_unreadable_tables_say_why(parser, rows, why):
    (row,) = claims_of_table(parser, {"page": 2, "index": 1, "caption": "Table 1: Latency (ms).", "rows": rows})
    assert row["status"] == "failed" and why in row["reason"]


def test_broken_pdf_is_one_failed_row(tmp_path, parser):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer garbage")
    (row,) = pdf_table_claims(parser, bad)
    assert row["status"] == "failed" and row["reason"].startswith("bad.pdf: unreadable PDF")


def test_claims_frame_reads_the_cached_pdf_tables(tmp_path):
    papers = pd.DataFrame([{"study": "s", "paper_id": "2401.00001", "title": "Fast inference", "kept": True,
                            "abstract": "The L4 reaches 2.1x the throughput of the T4."}])
    fulltext = pd.DataFrame([{"study": "s", "paper_id": "2401.00001", "status": "ok", "origin": "pdf", "chars": 10,
                              "reason": "", "text": "ResNet-50 runs at 640 images/s on an A100."}])
    make_pdf(cached_pdf_path(tmp_path, "2401.00001"), [THROUGHPUT, NO_UNIT])
    df = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False, pdf_dir=str(tmp_path))
    assert list(df.columns) == CLAIM_COLUMNS and df["claim_id"].is_unique
    table = df[df["source"] == "table"]
    assert len(table) == 9 and set(table["status"]) == {"ok", "failed"} and table["verbatim"].all()
    assert set(table["section"]) == {"pdf"} and set(table["extractor"]) == {"rules"}
    assert set(df[df["source"] == "sentence"]["section"]) == {"abstract", "full_text"}
    off = claims_frame("s", papers, fulltext, ClaimsConfig(tables=False), progress=False, pdf_dir=str(tmp_path))
    assert set(off["source"]) == {"sentence"}
    pd.testing.assert_frame_equal(df, claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False,
                                                   pdf_dir=str(tmp_path)))


def test_table_and_failed_rows_ground_without_error(tmp_path):
    from sovereign.claims.ground import ground_frame, source_sentences

    papers = pd.DataFrame([{"study": "s", "paper_id": "p1", "title": "T", "kept": True, "abstract": "No numbers here."}])
    fulltext = pd.DataFrame([{"study": "s", "paper_id": "p1", "status": "ok", "origin": "pdf", "chars": 10, "reason": "",
                              "text": THROUGHPUT[0] + " ResNet-18 1,210 5,480 9,830"}])
    make_pdf(cached_pdf_path(tmp_path, "p1"), [THROUGHPUT, NO_UNIT])
    df = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False, pdf_dir=str(tmp_path))
    sup = ground_frame("s", df, source_sentences(papers, fulltext), ClaimsConfig(), {"backend": "none"}, progress=False)
    assert len(sup) == len(df)
    first = sup.set_index("claim_id").loc[df[(df.source == "table") & (df.value == 1210)].claim_id.iloc[0]]
    assert first["numbers_grounded"]  # the caption is the paper's text and 1,210 is in it
