"""Site build benchmark.

1. The whole build (`python -m build_scripts`: validate content, render, `mkdocs build --strict`)
   against a bare `mkdocs build --strict` of the same already-rendered pages, each in a fresh
   process, median of several runs, printed as a ratio.
2. What one service page loads, measured from the built files: the HTML, its stylesheets and
   scripts, the search worker; then what opening the search adds (the index, the worker's
   language files). Raw KB and KB on the wire (the build's brotli files).

    .venv/bin/python benchmarks/site_build.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_scripts.build import write_mkdocs_config  # noqa: E402
from build_scripts.render import render  # noqa: E402


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def _site_path(site: Path, base: str, url: str) -> Path:
    return site / urlsplit(urljoin(base, url)).path.lstrip("/")


def page_assets(site: Path, page_url: str) -> tuple[list[Path], list[Path]]:
    """Files a full load of `page_url` fetches (HTML, CSS, JS, the search worker and the
    worker it imports, the icon), and the files fetched when the reader opens the search
    (the index and the worker's language files: the page holds them until then)."""
    html_path = site / page_url / "index.html"
    html = html_path.read_text(encoding="utf-8")
    base = "http://x/" + page_url
    urls = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    urls += re.findall(r'<script[^>]+src="([^"]+)"', html)
    urls += re.findall(r'<link[^>]+rel="icon"[^>]+href="([^"]+)"', html)
    config = json.loads(re.search(r'<script id="__config" type="application/json">(.*?)</script>',
                                  html, re.S).group(1))
    worker_url = urljoin(base, config["search"])
    worker = _site_path(site, base, config["search"])
    urls.append(config["search"])
    urls += [urljoin(worker_url, u) for u in
             re.findall(r'importScripts\("([^"]+)"\)', worker.read_text(encoding="utf-8"))]
    at_load = [html_path] + [_site_path(site, base, u) for u in urls]
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    langs = [lang for lang in index["config"]["lang"] if lang != "en"]
    lunr_files = ["lunr/min/lunr.stemmer.support.min.js"]
    lunr_files += [f"lunr/min/lunr.{lang}.min.js" for lang in langs]
    if len(index["config"]["lang"]) > 1:
        lunr_files.append("lunr/min/lunr.multi.min.js")
    on_search = [site / "search" / "search_index.json"]
    on_search += [_site_path(site, base, urljoin(worker_url, "../" + f)) for f in lunr_files]
    return at_load, on_search


def wire_size(path: Path) -> int:
    """What a server that sends the build's precompressed files (brotli first) sends."""
    br = path.with_name(path.name + ".br")
    return br.stat().st_size if br.exists() else path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rendered = render(ROOT / "content", tmp / "docs")
        config = write_mkdocs_config(rendered.docs_dir, tmp / "site-bare", tmp / "mkdocs.yml")
        whole_cmd = [py, "-m", "build_scripts", "--docs-dir", str(tmp / "docs"),
                     "--site-dir", str(tmp / "site")]
        bare_cmd = [py, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(config)]
        timed(bare_cmd)  # warm the file cache and jieba's model cache
        whole, bare = [], []
        for _ in range(args.runs):
            bare.append(timed(bare_cmd))
            whole.append(timed(whole_cmd))
        w, b = statistics.median(whole), statistics.median(bare)
        print(f"site build, median of {args.runs} runs, each a fresh process:")
        print(f"  whole build (validate + render + mkdocs): {w:6.2f} s")
        print(f"  bare mkdocs build of the rendered pages:   {b:6.2f} s")
        print(f"  ratio whole / bare: {w / b:.2f}")

        site = tmp / "site"
        service = rendered.pages[1].removesuffix(".md")  # services/<first service>
        at_load, on_search = page_assets(site, service + "/")
        missing = [f for f in at_load + on_search if not f.exists()]
        if missing:
            print("missing files:", *missing, sep="\n  ")
            return 1
        for title, files in ((f"what a full load of /{service}/ fetches", at_load),
                             ("and what opening the search adds", on_search)):
            print(f"\n{title} (from the built files; on the wire = the build's .br):")
            total_raw = total_wire = 0
            for f in files:
                raw, wire = f.stat().st_size, wire_size(f)
                total_raw += raw
                total_wire += wire
                print(f"  {raw / 1024:7.1f} KB  ({wire / 1024:6.1f} KB on the wire)  "
                      f"{f.relative_to(site).as_posix()}")
            print(f"  {total_raw / 1024:7.1f} KB  ({total_wire / 1024:6.1f} KB on the wire)  "
                  f"total, {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
