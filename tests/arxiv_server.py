"""A real HTTP server on 127.0.0.1 that speaks the arXiv API's Atom format.

Tests queue behaviours ("ok", "503", "503@2" (a 503 with `Retry-After: 2`), "malformed", "hang",
"empty") and the server answers each request with the next one, recording what it was asked.
"""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

ENTRY = """<entry>
<id>http://arxiv.org/abs/{id}v1</id>
<updated>{published}T00:00:00Z</updated>
<published>{published}T00:00:00Z</published>
<title>{title}</title>
<summary>{abstract}</summary>
{authors}
<link href="http://arxiv.org/abs/{id}v1" rel="alternate" type="text/html"/>
<link title="pdf" href="{pdf}" rel="related" type="application/pdf"/>
<arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="{cat}" scheme="http://arxiv.org/schemas/atom"/>
{cats}
</entry>"""


def atom_feed(records: list[dict], total: int | None = None, start: int = 0, base: str = "") -> bytes:
    """An arXiv-style Atom feed for `records`."""
    entries = []
    for r in records:
        entries.append(ENTRY.format(
            id=r["id"], published=r.get("published", "2024-01-01"), title=escape(r["title"]),
            abstract=escape(r.get("abstract", "")),
            authors="".join(f"<author><name>{escape(a)}</name></author>" for a in r.get("authors", ["A. Author"])),
            pdf=r.get("pdf_url") or f"{base}/pdf/{r['id']}v1", cat=(r.get("categories") or ["cs.LG"])[0],
            cats="".join(f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in r.get("categories") or ["cs.LG"]),
        ))
    total = len(records) if total is None else total
    return ("<?xml version='1.0' encoding='UTF-8'?>\n"
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom">'
            '<id>https://arxiv.org/api/test</id><title>arXiv Query</title><updated>2024-01-01T00:00:00Z</updated>'
            f"<opensearch:totalResults>{total}</opensearch:totalResults>"
            f"<opensearch:startIndex>{start}</opensearch:startIndex>"
            f"<opensearch:itemsPerPage>{len(records)}</opensearch:itemsPerPage>"
            + "".join(entries) + "</feed>").encode("utf-8")


class ArxivTestServer:
    """Serve queued behaviours on 127.0.0.1; `.url` is the API endpoint, `.requests` what came in."""

    def __init__(self, records: list[dict] | dict[str, dict] | None = None, port: int = 0):
        self.records = records or []
        self.behaviours: list[str] = []
        self.requests: list[dict] = []
        self.pdfs: dict[str, bytes] = {}
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                parsed = urlparse(self.path)
                if parsed.path.startswith("/pdf/"):
                    data = server.pdfs.get(parsed.path.split("/")[-1])
                    if data is None:
                        self.send_response(404)
                        self.end_headers()
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", "application/pdf")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    try:
                        self.wfile.write(data)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client gave up on purpose (size limit)
                    return
                qs = parse_qs(parsed.query)
                ids = [i for i in qs.get("id_list", [""])[0].split(",") if i]
                server.requests.append({"time": time.monotonic(), "query": qs.get("search_query", [""])[0],
                                        "start": int(qs.get("start", ["0"])[0]), "id_list": ids})
                behaviour = server.behaviours.pop(0) if server.behaviours else "ok"
                if behaviour == "hang":
                    server._stop.wait(30)
                    return
                status, _, retry_after = behaviour.partition("@")
                if status.isdigit():
                    self._send(int(status), b"server trouble", {"Retry-After": retry_after} if retry_after else {})
                    return
                if behaviour == "malformed":
                    self._send(200, b"<feed><entry><title>broken")
                    return
                if behaviour == "html":
                    self._send(200, b"<html><body>maintenance</body></html>")
                    return
                start = int(qs.get("start", ["0"])[0])
                size = int(qs.get("max_results", ["100"])[0])
                records = server.records
                if isinstance(records, dict):  # keyed by id: id_list requests get those ids, in order
                    records = [records[i] for i in ids if i in records] if ids else list(records.values())
                recs = [] if behaviour == "empty" else records
                self._send(200, atom_feed(recs[start:start + size], total=len(recs), start=start, base=server.base))

            def _send(self, code, body, headers=None):
                self.send_response(code)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/atom+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)  # port 0: any free one
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"{self.base}/api/query"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
