"""Lighthouse on every page of the site, next to a bare Material for MkDocs page.

Both sites are built in this run with the same MkDocs, Material and jieba: ours by the whole
build (`build_scripts.build`: render, mkdocs build, re-segmented search index, hashed and
minified assets, precompressed files), the bare one by a plain `mkdocs build` of two plain
Chinese pages (theme language zh, `font: false`, the search plugin, which segments with jieba).
Both are served the same way: WhiteNoise behind gunicorn (`benchmarks/static_site.py`), which
sends a precompressed file when there is one and caches hashed names for a year.

Lighthouse 12 (npm, `benchmarks/package.json`) runs in Debian's Chromium with its default
mobile settings (emulated phone, simulated slow 4G and 4x CPU), median of `--runs` runs per
page. Printed per page: the four category scores, LCP, bytes on the wire and requests, and
LCP and bytes as ratios of the bare home page's.

    .venv/bin/python benchmarks/site_lighthouse.py [--runs 3] [--pages hospitals/ faq/]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(ROOT))

from build_scripts.build import build  # noqa: E402

CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-background-networking "
                "--disable-component-update --disable-sync --no-first-run")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
LIGHTHOUSE = BENCH / "node_modules" / ".bin" / "lighthouse"

BARE_CONFIG = """\
site_name: 基础站点
theme:
  name: material
  language: zh
  font: false
plugins:
  - search
"""
BARE_PAGES = {
    "index.md": """\
# 欢迎

这是一个只用 Material for MkDocs 默认设置生成的中文页面，用来和我们的网站比较加载速度。

## 服务内容

确诊后，您可以免费使用就医绿色通道、第二诊疗意见、基因检测和住院保险直付服务。每项服务有次数限制，
保单年度内没有申请的会终止，请尽早申请。

## 联系我们

拨打服务热线查询申请进度。
""",
    "about.md": """\
# 关于

第二个普通页面：几段文字和一个列表。

- 门诊预约
- 住院预约
- 专家意见
""",
}


@dataclass
class Result:
    label: str
    scores: dict[str, float]
    lcp_ms: float
    bytes: float
    requests: float
    fcp_ms: float = 0.0
    tbt_ms: float = 0.0


def ensure_lighthouse() -> Path:
    """The project's Lighthouse, installed from the committed lock file when missing."""
    if not LIGHTHOUSE.exists():
        subprocess.run(["npm", "ci", "--prefix", str(BENCH), "--no-audit", "--no-fund"],
                       check=True)
    return LIGHTHOUSE


def build_bare(tmp: Path) -> Path:
    docs = tmp / "bare-docs"
    docs.mkdir()
    for name, text in BARE_PAGES.items():
        (docs / name).write_text(text, encoding="utf-8")
    config = tmp / "bare-mkdocs.yml"
    config.write_text(BARE_CONFIG + f"docs_dir: {docs}\nsite_dir: {tmp / 'bare-site'}\n",
                      encoding="utf-8")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config)],
                   check=True, capture_output=True)
    return tmp / "bare-site"


def page_urls(site: Path) -> list[str]:
    """'' for the home page, then 'services/green_channel/' and so on (404 left out)."""
    return sorted("" if p.parent == site else p.parent.relative_to(site).as_posix() + "/"
                  for p in site.rglob("index.html"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(site: Path) -> Iterator[str]:
    """gunicorn (threads: keep-alive like a production server) serving `site` via WhiteNoise."""
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = dict(os.environ, SITE_ROOT=str(site))
    proc = subprocess.Popen(
        [str(gunicorn), "--chdir", str(BENCH), "-b", f"127.0.0.1:{port}", "-w", "1",
         "-k", "gthread", "--threads", "8", "--keep-alive", "5", "static_site:app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the static server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def lighthouse_once(url: str, out: Path) -> dict:
    subprocess.run(
        [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
         f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={CHROME_FLAGS}"],
        check=True, env=dict(os.environ, CHROME_PATH=CHROME), capture_output=True)
    return json.loads(out.read_text(encoding="utf-8"))


def measure(label: str, url: str, runs: int, tmp: Path) -> Result:
    reports = [lighthouse_once(url, tmp / f"lh-{i}.json") for i in range(runs)]

    def median(values: list[float]) -> float:
        return statistics.median(values)

    scores = {c: median([r["categories"][c]["score"] * 100 for r in reports])
              for c in CATEGORIES}
    audits = [r["audits"] for r in reports]
    return Result(
        label, scores,
        median([a["largest-contentful-paint"]["numericValue"] for a in audits]),
        median([a["total-byte-weight"]["numericValue"] for a in audits]),
        median([len(a["network-requests"]["details"]["items"]) for a in audits]),
        median([a["first-contentful-paint"]["numericValue"] for a in audits]),
        median([a["total-blocking-time"]["numericValue"] for a in audits]),
    )


# -- what the search index costs on a slow phone -------------------------------------------
LONG_TASKS = """window.__longTasks = [];
new PerformanceObserver(list => { for (const e of list.getEntries())
  window.__longTasks.push(e.duration); }).observe({type: "longtask", buffered: true});"""
# Material's default: the index request goes out while the page loads. Our page holds it
# until the search is opened; this releases it at DOMContentLoaded, as the theme would.
INDEX_AT_LOAD = """document.addEventListener("DOMContentLoaded", () =>
  document.querySelector(".md-search__input")?.dispatchEvent(
    new FocusEvent("focusin", {bubbles: true})));"""


@dataclass
class SearchCost:
    mode: str
    blocking_ms: float      # sum over long tasks of the part above 50 ms (as TBT counts)
    long_task_ms: float     # main-thread time in long tasks
    kib: float              # bytes on the wire until 5 s after load
    ready_ms: float | None  # deferred only: opening the search until it is ready


def _cost_sample(browser: object, url: str, mode: str, throttle: float
                 ) -> tuple[float, float, float, float | None]:
    context = browser.new_context(viewport={"width": 390, "height": 844},  # type: ignore
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    wire = [0]
    cdp.on("Network.loadingFinished",
           lambda e: wire.__setitem__(0, wire[0] + e["encodedDataLength"]))
    page.add_init_script(LONG_TASKS)
    if mode == "index at load":
        page.add_init_script(INDEX_AT_LOAD)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(5000)  # by then the worker has built its index (when it got it)
    tasks = page.evaluate("window.__longTasks")
    loaded_kib = wire[0] / 1024
    ready_ms = None
    if mode != "index at load":
        ready = page.evaluate("JSON.parse(document.getElementById('__config').textContent)"
                              ".translations['search.result.placeholder']")
        start = time.perf_counter()
        page.locator("label.md-header__button[for='__search']").click()
        page.wait_for_function(
            "t => document.querySelector('.md-search-result__meta').textContent.trim() === t",
            arg=ready, timeout=30000)
        ready_ms = (time.perf_counter() - start) * 1000
    context.close()
    return sum(max(0.0, d - 50) for d in tasks), sum(tasks), loaded_kib, ready_ms


def search_cost(url: str, runs: int, throttle: float = 4.0) -> list[SearchCost]:
    """The page at `throttle`x CPU (CDP), with the index fetched at load and deferred; the
    two alternate run by run, so a change in the machine's load hits both alike."""
    from playwright.sync_api import sync_playwright

    modes = ("index at load", "deferred (as built)")
    samples: dict[str, list[tuple[float, float, float, float | None]]] = {m: [] for m in modes}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROME, args=CHROME_FLAGS.split())
        for _ in range(runs):
            for mode in modes:
                samples[mode].append(_cost_sample(browser, url, mode, throttle))
        browser.close()
    results = []
    for mode in modes:
        rows = samples[mode]
        ready = [r[3] for r in rows if r[3] is not None]
        results.append(SearchCost(mode, statistics.median(r[0] for r in rows),
                                  statistics.median(r[1] for r in rows),
                                  statistics.median(r[2] for r in rows),
                                  statistics.median(ready) if ready else None))
    return results


def print_table(results: list[Result], bare: Result) -> None:
    head = (f"{'page':28} {'perf':>5} {'a11y':>5} {'BP':>5} {'SEO':>5} {'LCP ms':>7} "
            f"{'KiB':>7} {'req':>4} {'LCP x':>6} {'bytes x':>8} {'FCP ms':>7} {'TBT ms':>7}")
    print(head)
    print("-" * len(head))
    for r in results:
        s = r.scores
        print(f"{r.label:28} {s['performance']:5.0f} {s['accessibility']:5.0f} "
              f"{s['best-practices']:5.0f} {s['seo']:5.0f} {r.lcp_ms:7.0f} "
              f"{r.bytes / 1024:7.1f} {r.requests:4.0f} {r.lcp_ms / bare.lcp_ms:6.2f} "
              f"{r.bytes / bare.bytes:8.2f} {r.fcp_ms:7.0f} {r.tbt_ms:7.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page")
    parser.add_argument("--pages", nargs="*", help="only these pages of ours ('' = home)")
    parser.add_argument("--cost-runs", type=int, default=5,
                        help="runs of the search-index cost measurement (0: skip it)")
    args = parser.parse_args(argv)
    ensure_lighthouse()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours = build(ROOT / "content", docs_dir=tmp / "docs", site_dir=tmp / "site").site_dir
        bare = build_bare(tmp)
        results: list[Result] = []
        with served(bare) as url:
            bare_results = [measure(f"bare: /{p}", url + p, args.runs, tmp)
                            for p in page_urls(bare)]
        with served(ours) as url:
            pages = page_urls(ours) if args.pages is None else args.pages
            for page in pages:
                results.append(measure(f"/{page}", url + page, args.runs, tmp))
                print(f"  measured /{page}", file=sys.stderr, flush=True)
            cost_page = "services/green_channel/"
            costs = search_cost(url + cost_page, args.cost_runs) if args.cost_runs else []
        reference = bare_results[0]
        print(f"Lighthouse {lighthouse_version()} mobile, median of {args.runs}; ratios vs "
              f"the bare Material home page; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs")
        print_table(bare_results + results, reference)
        goal = [r.label for r in results if not meets_goal(r, reference)]
        if costs:
            print(f"\nThe search index on /{cost_page} at 4x CPU (CDP), Playwright, "
                  f"median of {args.cost_runs}:")
            for c in costs:
                ready = f", search ready {c.ready_ms:.0f} ms after opening it" \
                    if c.ready_ms is not None else ""
                print(f"  {c.mode:20} blocking {c.blocking_ms:5.0f} ms, long tasks "
                      f"{c.long_task_ms:5.0f} ms, {c.kib:5.1f} KiB{ready}")
        print("goal (perf >= 98, a11y/BP/SEO 100, LCP <= 0.9x, bytes <= 0.5x): "
              + ("met on every page" if not goal else "not met on " + ", ".join(goal)))
    return 0


def meets_goal(r: Result, bare: Result) -> bool:
    s = r.scores
    return (s["performance"] >= 98 and s["accessibility"] == 100
            and s["best-practices"] == 100 and s["seo"] == 100
            and r.lcp_ms <= 0.9 * bare.lcp_ms and r.bytes <= 0.5 * bare.bytes)


def lighthouse_version() -> str:
    return subprocess.run([str(LIGHTHOUSE), "--version"], capture_output=True,
                          text=True).stdout.strip()


if __name__ == "__main__":
    if shutil.which("node") is None:
        sys.exit("Node.js is needed for Lighthouse")
    sys.exit(main())
