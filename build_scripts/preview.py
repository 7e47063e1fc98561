"""Live preview of the policyholder site for content editors.

    python -m build_scripts.preview [--host 127.0.0.1] [--port 8000] [--content DIR]

Renders the content into a private temporary docs folder, builds the site into a private
temporary site folder (the repository's docs/ and site/ are never written), and serves it
with MkDocs' `LiveReloadServer`. When a file under the content folder, the hand-written docs
folder or mkdocs.yml changes, the site is rebuilt and open pages reload:

- nothing really changed (same bytes, e.g. a file saved twice): no rebuild;
- only hand-written docs or mkdocs.yml changed: no re-render, just copy those files and run
  MkDocs again;
- content changed: validate and render, then run MkDocs.

When the content has errors, the terminal shows exactly what `python -m service_rules check`
prints, the last good site stays up, and every served page carries a visible error banner
(`role="alert"`) with the same message, until the next good build.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import html
import logging
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

import yaml
from mkdocs.exceptions import MkDocsException
from mkdocs.livereload import LiveReloadServer

from service_rules.deadlines import shanghai_today
from service_rules.loader import default_content_dir
from service_rules.problems import ContentError, render_problems

from .build import MKDOCS_YML, run_mkdocs
from .render import DOCS_DIR, GENERATED_DIRS, GENERATED_FILES, render

# What `python -m service_rules check` prints after the problems when the check fails.
CHECK_FAILED = "检查未通过。"
BANNER_ID = "cc-preview-error"
GENERATED_TOP = frozenset(GENERATED_FILES) | frozenset(GENERATED_DIRS)
# Editors' swap and backup files are not content.
IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".bak")
BODY_OPEN = re.compile(rb"<body\b[^>]*>", re.I)

Outcome = Literal["built", "unchanged", "content_error", "build_error"]


# -- fingerprints and copies -------------------------------------------------------------
def _is_ignored(rel: Path) -> bool:
    name = rel.name
    return (any(part.startswith(".") for part in rel.parts) or name.endswith(IGNORED_SUFFIXES)
            or name.startswith("#"))


def _files(root: Path, skip_top: Collection[str] = ()) -> list[Path]:
    """Relative paths of the files under `root` (sorted), without editors' temporary files."""
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if rel.parts[0] in skip_top or _is_ignored(rel) or not path.is_file():
            continue
        found.append(rel)
    return sorted(found)


def fingerprint(paths: Iterable[Path], skip_top: Collection[str] = ()) -> str:
    """sha256 over the names and bytes of every file under the given folders (or files).

    Bytes rather than modification times: saving a file without changing it does not count.
    """
    digest = hashlib.sha256()
    for root in paths:
        root = Path(root)
        entries = [(Path(root.name), root)] if root.is_file() else [
            (rel, root / rel) for rel in _files(root, skip_top)]
        for rel, path in entries:
            try:
                data = path.read_bytes()
            except OSError:  # removed while we looked (an editor's atomic save)
                continue
            digest.update(rel.as_posix().encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def sync_handwritten(source: Path, target: Path) -> None:
    """Make the hand-written files in `target` equal to `source`; generated pages are kept."""
    wanted = set(_files(source, GENERATED_TOP))
    for rel in wanted:
        src, dst = source / rel, target / rel
        if dst.is_file() and dst.read_bytes() == src.read_bytes():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    for rel in _files(target, GENERATED_TOP):
        if rel not in wanted:
            (target / rel).unlink(missing_ok=True)


def site_config_paths() -> list[Path]:
    """mkdocs.yml and the theme overrides folder it names (`theme.custom_dir`), if any."""
    paths = [MKDOCS_YML]
    try:
        config = yaml.safe_load(MKDOCS_YML.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return paths
    theme = config.get("theme") if isinstance(config, dict) else None
    custom = theme.get("custom_dir") if isinstance(theme, dict) else None
    if isinstance(custom, str) and (MKDOCS_YML.parent / custom).is_dir():
        paths.append(MKDOCS_YML.parent / custom)
    return paths


# -- the error banner --------------------------------------------------------------------
def banner_html(content_error: str | None, build_error: str | None) -> bytes:
    """A visible, accessible banner (role=alert) with the messages; b'' when all is well."""
    if not content_error and not build_error:
        return b""
    box = ("position:relative;z-index:10;margin:0;padding:1rem 1.25rem;background:#fff4f4;"
           "color:#5c0000;border-bottom:4px solid #b00020;font-size:.8rem;line-height:1.6")
    pre = ("white-space:pre-wrap;margin:.5rem 0 0;padding:.75rem;background:#fff;color:#1a1a1a;"
           "border:1px solid #b00020;font-size:.75rem;overflow:auto")
    parts = [f'<div id="{BANNER_ID}" role="alert" aria-labelledby="{BANNER_ID}-title" '
             f'style="{box}">']
    if content_error:
        parts += [
            f'<h2 id="{BANNER_ID}-title" style="margin:0;font-size:1rem;color:#5c0000">'
            "预览：内容检查未通过，网站没有更新</h2>",
            "<p style=\"margin:.25rem 0 0\">下面是检查（make check）给出的提示。改好并保存后，"
            "页面会自动刷新；在此之前，显示的是上一次检查通过的内容。</p>",
            f'<pre class="{BANNER_ID}__message" style="{pre}">{html.escape(content_error)}</pre>',
        ]
    if build_error:
        title_id = "" if content_error else f' id="{BANNER_ID}-title"'
        parts += [
            f'<h2{title_id} style="margin:.75rem 0 0;font-size:1rem;color:#5c0000">'
            "预览：网站生成失败，显示的是上一次成功生成的版本</h2>",
            f'<pre class="{BANNER_ID}__build" style="{pre}">{html.escape(build_error)}</pre>',
        ]
    parts.append("</div>")
    return "".join(parts).encode("utf-8")


def insert_banner(page: bytes, banner: bytes) -> bytes:
    """Put the banner right after <body ...> (or first, for a page without a body tag)."""
    if not banner:
        return page
    match = BODY_OPEN.search(page)
    at = match.end() if match else 0
    return page[:at] + banner + page[at:]


PLACEHOLDER = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>预览尚未生成</title></head>
<body><main><h1>预览尚未生成</h1>
<p>内容有错误，网站还没有生成过。请按上面的提示修改内容并保存，页面会自动刷新。</p>
</main></body></html>
"""


# -- the preview -------------------------------------------------------------------------
@dataclass(frozen=True)
class BuildReport:
    outcome: Outcome
    rendered: bool  # content was validated and rendered again
    mkdocs: bool  # MkDocs ran and the new site is being served
    seconds: float


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Preview:
    """Builds the site into a private folder and remembers what it last saw and built."""

    def __init__(self, content_dir: Path | str | None = None, workdir: Path | str | None = None,
                 *, docs_source: Path | str = DOCS_DIR, apply_base: str | None = None,
                 today: Callable[[], dt.date] = shanghai_today,
                 out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.content_dir = Path(content_dir) if content_dir else default_content_dir()
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="cc-preview-"))
        self.docs_source = Path(docs_source)
        self.docs_dir = self.workdir / "docs"
        self.site_dir = self.workdir / "site"
        self.apply_base = apply_base
        self.today = today
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.content_error: str | None = None
        self.build_error: str | None = None
        self.builds = 0  # MkDocs runs
        self.renders = 0  # content renders
        self._content_fp: str | None = None
        self._docs_fp: str | None = None
        self._rendered_once = False
        self._built_once = False
        self._retry_mkdocs = False
        self.site_dir.mkdir(parents=True, exist_ok=True)

    # What the server injects into each page.
    def banner(self) -> bytes:
        return banner_html(self.content_error, self.build_error)

    def watched_paths(self) -> list[Path]:
        return [self.content_dir, self.docs_source, *site_config_paths()]

    def _say(self, text: str, *, error: bool = False) -> None:
        print(text, file=self.err if error else self.out, flush=True)

    def build(self) -> BuildReport:
        """Rebuild what changed since the last call; never raises for content or MkDocs errors."""
        started = time.perf_counter()
        content_fp = fingerprint([self.content_dir])
        docs_fp = fingerprint([self.docs_source, *site_config_paths()], GENERATED_TOP)
        content_changed = content_fp != self._content_fp
        docs_changed = docs_fp != self._docs_fp
        self._content_fp, self._docs_fp = content_fp, docs_fp

        def report(outcome: Outcome, rendered: bool, mkdocs: bool) -> BuildReport:
            return BuildReport(outcome, rendered, mkdocs, time.perf_counter() - started)

        if not content_changed and not docs_changed and not self._retry_mkdocs:
            self._say("文件内容没有变化，无需重新生成。")
            return report("unchanged", False, False)

        rendered = False
        if content_changed:
            try:
                render(self.content_dir, self.docs_dir, apply_base=self.apply_base,
                       today=self.today())
            except ContentError as exc:
                self.content_error = "\n".join([render_problems(exc.problems), CHECK_FAILED])
                self._say(self.content_error, error=True)
                self._say("预览仍显示上一次检查通过的内容；改好并保存后会自动更新。", error=True)
                if not self._built_once:
                    (self.site_dir / "index.html").write_text(PLACEHOLDER, encoding="utf-8")
                if not (docs_changed and self._rendered_once):
                    return report("content_error", False, False)
            else:
                rendered = True
                self.renders += 1
                self._rendered_once = True
                if self.content_error:
                    self._say("内容检查通过，错误提示已清除。")
                self.content_error = None
        if self._rendered_once:
            sync_handwritten(self.docs_source, self.docs_dir)
        else:  # no good content yet: nothing to build
            return report("content_error", False, False)

        ok = self._run_mkdocs()
        outcome: Outcome = ("build_error" if not ok
                            else "content_error" if self.content_error else "built")
        result = report(outcome, rendered, ok)
        if ok:
            what = "内容和页面" if rendered else "手写页面"
            self._say(f"预览已更新（{what}，用时 {result.seconds:.1f} 秒）。")
        return result

    def _run_mkdocs(self) -> bool:
        """MkDocs into a staging folder, swapped in on success: a failure keeps the old site."""
        stage = self.workdir / "site.new"
        shutil.rmtree(stage, ignore_errors=True)
        collector = _WarningCollector()
        logger = logging.getLogger("mkdocs")
        logger.addHandler(collector)
        try:
            run_mkdocs(self.docs_dir, stage)
        except (MkDocsException, SystemExit) as exc:
            lines = [f"MkDocs 构建失败：{exc}", *collector.messages]
            self.build_error = "\n".join(lines)
            self._retry_mkdocs = True
            self._say(self.build_error, error=True)
            self._say("预览仍显示上一次成功生成的版本。", error=True)
            return False
        finally:
            logger.removeHandler(collector)
        old = self.workdir / "site.old"
        shutil.rmtree(old, ignore_errors=True)
        self.site_dir.rename(old)
        stage.rename(self.site_dir)
        shutil.rmtree(old, ignore_errors=True)
        self.builds += 1
        self._built_once = True
        self._retry_mkdocs = False
        if self.build_error:
            self._say("网站生成恢复正常。")
        self.build_error = None
        return True

    def error_page(self, code: int) -> bytes | None:
        page = self.site_dir / "404.html"
        if code == 404 and page.is_file():
            return page.read_bytes()
        return None

    def close(self) -> None:
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class PreviewServer(LiveReloadServer):
    """MkDocs' live-reload server over a `Preview`, adding the error banner to HTML pages."""

    def __init__(self, preview: Preview, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.preview = preview
        self.ready = False
        self.on_ready: Callable[[str], None] | None = None

        def builder() -> None:
            preview.build()

        super().__init__(builder=builder, host=host, port=port, root=str(preview.site_dir))
        self.error_handler = preview.error_page
        self.set_app(self._with_banner)
        for path in preview.watched_paths():
            if path.exists():
                self.watch(str(path))

    def server_bind(self) -> None:
        super().server_bind()
        host, port = self.server_address[:2]
        self.url = f"http://{host}:{port}/"  # the real port when asked for port 0

    def server_activate(self) -> None:
        super().server_activate()
        self.ready = True
        if self.on_ready is not None:
            self.on_ready(self.url)

    def _with_banner(self, environ: dict[str, Any], start_response: Callable[..., Any]
                     ) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                    ) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = self.serve_request(environ, capture)
        status, headers = captured["status"], captured["headers"]
        ctype = next((v for k, v in headers if k.lower() == "content-type"), "")
        banner = self.preview.banner()
        if not banner or not ctype.startswith("text/html"):
            start_response(status, headers)
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        body = insert_banner(body, banner)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m build_scripts.preview",
                                     description="编辑内容时的实时预览（保存后自动刷新）。")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="端口（0 = 任选一个空闲端口）")
    parser.add_argument("--content", type=Path, default=None,
                        help="内容目录（默认 content/ 或 $CONTENT_DIR）")
    parser.add_argument("--docs", type=Path, default=DOCS_DIR, help="手写页面目录（默认 docs/）")
    parser.add_argument("--apply-base", default=None,
                        help="申请表单网址前缀（默认 $APPLY_BASE_URL，同一主机）")
    args = parser.parse_args(argv)

    preview = Preview(args.content, docs_source=args.docs, apply_base=args.apply_base)
    signal.signal(signal.SIGTERM, _stop)
    # Ctrl+C stops the preview, as it says, even when whoever started it left SIGINT ignored
    # (a shell's background job, a test runner's worker): Python then installs no handler
    signal.signal(signal.SIGINT, _stop)
    server: PreviewServer | None = None
    try:
        preview.build()
        server = PreviewServer(preview, args.host, args.port)
        server.on_ready = lambda url: print(
            f"预览地址：{url}（修改 {preview.content_dir} 或 {preview.docs_source} 下的文件"
            "并保存，页面会自动刷新；按 Ctrl+C 停止）", flush=True)
        server.serve()
    except KeyboardInterrupt:
        print("预览已停止。", flush=True)
    except OSError as exc:
        if server is None or server.ready:
            raise
        print(f"无法在 {args.host}:{args.port} 上启动预览：{exc}。"
              f"请换一个端口，例如 make preview PORT={args.port + 1}。", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.shutdown()
        preview.close()
    return 0

if __name__ == "__main__":
    sys.exit(main())
