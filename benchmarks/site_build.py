"""Site build benchmark.

1. The whole build (`python -m build_scripts`: validate content, render, `mkdocs build --strict`)
   against a bare `mkdocs build --strict` of the same already-rendered pages, each in a fresh
   process, median of several runs, printed as a ratio.
2. What one service page loads, measured from the built files: the HTML, its stylesheets and
   scripts, the search worker with its language files and the search index it fetches
   (raw and gzip-compressed KB).

    .venv/bin/python benchmarks/site_build.py [--runs 3]
"""

from __future__ import annotations

import argparse
import gzip
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


def page_assets(site: Path, page_url: str) -> list[Path]:
    """Files a full load of `page_url` fetches: HTML, CSS, JS, search worker, index."""
    html_path = site / page_url / "index.html"
    html = html_path.read_text(encoding="utf-8")
    base = "http://x/" + page_url
    urls = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    urls += re.findall(r'<script[^>]+src="([^"]+)"', html)
    urls += re.findall(r'<link[^>]+rel="icon"[^>]+href="([^"]+)"', html)
    config = json.loads(re.search(r'<script id="__config" type="application/json">(.*?)</script>',
                                  html, re.S).group(1))
    urls.append(config["search"])
    index_url = urljoin(urljoin(base, config["base"]) + "/", "search/search_index.json")
    urls.append(index_url)
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    langs = [lang for lang in index["config"]["lang"] if lang != "en"]
    worker_dir = urljoin(base, config["search"])
    lunr_files = ["lunr/min/lunr.stemmer.support.min.js"]
    lunr_files += [f"lunr/min/lunr.{lang}.min.js" for lang in langs]
    if len(index["config"]["lang"]) > 1:
        lunr_files.append("lunr/min/lunr.multi.min.js")
    urls += [urljoin(worker_dir, "../" + f) for f in lunr_files]
    files = [html_path]
    for url in urls:
        path = urlsplit(urljoin(base, url)).path.lstrip("/")
        files.append(site / path)
    return files


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
        files = page_assets(site, service + "/")
        missing = [f for f in files if not f.exists()]
        if missing:
            print("missing files:", *missing, sep="\n  ")
            return 1
        print(f"\nwhat /{service}/ loads (from the built files):")
        total_raw = total_gz = 0
        rows = []
        for f in files:
            data = f.read_bytes()
            raw, gz = len(data), len(gzip.compress(data, 6))
            total_raw += raw
            total_gz += gz
            rows.append((f.relative_to(site).as_posix(), raw, gz))
        for name, raw, gz in rows:
            print(f"  {raw / 1024:7.1f} KB  ({gz / 1024:6.1f} KB gzip)  {name}")
        print(f"  {total_raw / 1024:7.1f} KB  ({total_gz / 1024:6.1f} KB gzip)  total, "
              f"{len(files)} files")
        index = site / "search" / "search_index.json"
        print(f"  search index share: {index.stat().st_size / total_raw:.0%} of the raw total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
