"""Vega-Lite specs into a self-contained page (Vega inlined, SVG renderer) and into PNG/SVG files."""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from ..io import atomic_path, write_text

log = logging.getLogger(__name__)


def _vl_version() -> str:
    """The Vega-Lite release altair writes its specs for, spelled as vl-convert names them: 'v6.4.1' -> 'v6_4'."""
    import altair

    major, minor = altair.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return f"v{major}_{minor}"


def javascript_bundle(cache_dir: str | None = None) -> str:
    """The vega + vega-lite + vega-embed bundle (about 0.9 MB), cached on disk because building it takes seconds."""
    import vl_convert

    vl = _vl_version()
    name = f"vega-embed-{vl_convert.__version__}-{vl}.js"
    path = Path(cache_dir) / name if cache_dir else None
    if path and path.exists():
        return path.read_text(encoding="utf-8")
    js = vl_convert.javascript_bundle(vl_version=vl)
    if path:
        write_text(path, js)
    return js


def script_json(obj) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' that could end it or start markup."""
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def embed_div(name: str, spec: dict) -> str:
    """A chart placeholder and the script that draws it with the SVG renderer."""
    div = "chart-" + hashlib.sha1(name.encode()).hexdigest()[:10]
    return (f'<div class="chart" id="{div}"></div><script>vegaEmbed("#{div}", {script_json(spec)}, '
            '{"renderer": "svg", "actions": false}).catch(function (e) { document.getElementById("'
            + div + '").textContent = "chart failed: " + e; });</script>')


def bundle_tag(js: str) -> str:
    """The inlined bundle as one script element."""
    safe = js.replace("</script", "<\\/script")
    return '<script type="text/javascript">' + safe + "</script>"


def save_images(specs: dict[str, dict], out_dir: str, png_scale: float = 1.0, formats=("svg", "png")) -> list[str]:
    """Write <name>.svg and <name>.png for every spec; return the paths."""
    import vl_convert

    vl, written = _vl_version(), []
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for name, spec in specs.items():
        if "svg" in formats:
            path = Path(out_dir) / f"{name}.svg"
            write_text(path, vl_convert.vegalite_to_svg(spec, vl_version=vl))
            written.append(str(path))
        if "png" in formats:
            path = Path(out_dir) / f"{name}.png"
            with atomic_path(path, suffix=".png") as tmp:
                tmp.write_bytes(vl_convert.vegalite_to_png(spec, vl_version=vl, scale=png_scale))
            written.append(str(path))
    return written
