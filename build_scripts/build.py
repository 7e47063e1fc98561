"""Run `mkdocs build --strict` over a rendered docs folder, and the whole build in one call."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config

from service_rules.problems import ContentError, Problem

from .assets import Fingerprinted, fingerprint_assets, write_asset_manifest
from .compress import CompressReport, precompress
from .render import DOCS_DIR, JIEBA_USER_DICT, ROOT, Rendered, render
from .search_index import install_search_worker, rewrite_search_index

MKDOCS_YML = ROOT / "mkdocs.yml"
SITE_DIR = ROOT / "site"
SEARCH_PLUGIN_NAMES = ("material/search", "search")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


@dataclass
class BuildResult:
    rendered: Rendered
    site_dir: Path
    csp_hashes: Path
    assets: list[Fingerprinted] = field(default_factory=list)
    compressed: CompressReport | None = None


def mkdocs_config_dict(docs_dir: Path, site_dir: Path) -> dict:
    """mkdocs.yml with absolute docs, site and dictionary paths, for a separate docs folder."""
    data = yaml.safe_load(MKDOCS_YML.read_text(encoding="utf-8"))
    data["docs_dir"] = str(Path(docs_dir).resolve())
    data["site_dir"] = str(Path(site_dir).resolve())
    theme = data.get("theme", {})
    if isinstance(theme, dict) and theme.get("custom_dir"):
        theme["custom_dir"] = str((MKDOCS_YML.parent / theme["custom_dir"]).resolve())
    for plugin in data.get("plugins", []):
        if isinstance(plugin, dict):
            for name, options in plugin.items():
                if name in SEARCH_PLUGIN_NAMES and options and "jieba_dict_user" in options:
                    options["jieba_dict_user"] = str(Path(docs_dir).resolve() / JIEBA_USER_DICT)
    return data


def write_mkdocs_config(docs_dir: Path, site_dir: Path, dest: Path) -> Path:
    """Write a config for a plain `mkdocs build -f dest` of a separate docs folder."""
    dest.write_text(yaml.safe_dump(mkdocs_config_dict(docs_dir, site_dir), allow_unicode=True,
                                   sort_keys=False), encoding="utf-8")
    return dest


def _nav_pages(items: list) -> set[str]:
    pages: set[str] = set()
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            pages |= _nav_pages(value)
        elif isinstance(value, str):
            pages.add(value)
    return pages


def nav_problems(rendered: Rendered) -> list[Problem]:
    """Generated pages that mkdocs.yml's nav does not list (a service added to the content)."""
    data = yaml.safe_load(MKDOCS_YML.read_text(encoding="utf-8"))
    listed = _nav_pages(data.get("nav", []))
    return [Problem("mkdocs.yml", "nav", f"生成的页面 {page} 没有列在网站导航里。",
                    f"在 mkdocs.yml 的 nav 里（新服务放在“四项服务”下）添加一行：- {page}")
            for page in rendered.pages if page not in listed]


def _ensure_logging(verbose: bool) -> None:
    logger = logging.getLogger("mkdocs")
    if not any(getattr(h, "_cc_build", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
        handler._cc_build = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


def run_mkdocs(docs_dir: Path | str = DOCS_DIR, site_dir: Path | str = SITE_DIR, *,
               strict: bool = True, verbose: bool = False) -> Path:
    """`mkdocs build --strict` of `docs_dir` into `site_dir` with the repository's mkdocs.yml.

    Raises `mkdocs.exceptions.Abort` (a ClickException) when strict mode finds warnings.
    """
    _ensure_logging(verbose)
    docs_dir, site_dir = Path(docs_dir).resolve(), Path(site_dir).resolve()
    config = load_config(str(MKDOCS_YML), docs_dir=str(docs_dir), site_dir=str(site_dir),
                         strict=strict)
    # the search plugin imports jieba, which sets its own logger to DEBUG on import
    logging.getLogger("jieba").setLevel(logging.DEBUG if verbose else logging.WARNING)
    for name in SEARCH_PLUGIN_NAMES:
        if name in config.plugins:
            config.plugins[name].config.jieba_dict_user = str(docs_dir / JIEBA_USER_DICT)
    mkdocs_build(config)
    return site_dir


def inline_script_hashes(site_dir: Path) -> dict:
    """sha256 of every inline <script> in the built HTML, in CSP source form."""
    hashes: dict[str, list[str]] = {}
    for page in sorted(Path(site_dir).rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        for body in INLINE_SCRIPT.findall(html):
            digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
            source = f"'sha256-{digest}'"
            hashes.setdefault(source, []).append(page.relative_to(site_dir).as_posix())
    return {
        "comment": "Inline scripts of the built site: add these to script-src to allow them.",
        "script-src": sorted(hashes),
        "pages": {h: sorted(set(p)) for h, p in sorted(hashes.items())},
    }


def write_csp_hashes(site_dir: Path) -> Path:
    path = Path(site_dir) / "csp-hashes.json"
    path.write_text(json.dumps(inline_script_hashes(site_dir), ensure_ascii=False, indent=2),
                    encoding="utf-8")
    return path


def build(content_dir: Path | str | None = None, *, docs_dir: Path | str = DOCS_DIR,
          site_dir: Path | str = SITE_DIR, apply_base: str | None = None,
          today: dt.date | None = None, verbose: bool = False) -> BuildResult:
    """Validate content, render pages into `docs_dir`, run `mkdocs build --strict`.

    Raises `service_rules.ContentError` for content problems and `mkdocs.exceptions.Abort`
    when MkDocs reports warnings.
    """
    rendered = render(content_dir, docs_dir, apply_base=apply_base, today=today)
    problems = nav_problems(rendered)
    if problems:
        raise ContentError(problems)
    site = run_mkdocs(rendered.docs_dir, site_dir, verbose=verbose)
    return postprocess(site, rendered.docs_dir / JIEBA_USER_DICT, rendered)


def postprocess(site: Path, user_dict: Path | None, rendered: Rendered) -> BuildResult:
    """The steps after `mkdocs build`, on the built files only (no MkDocs hook or plugin, so
    the same pages build with Zensical). Order matters: the search index and the pages are
    final before their inline-script hashes are taken, and compression comes last."""
    rewrite_search_index(site, user_dict)
    install_search_worker(site)
    assets = fingerprint_assets(site)
    write_asset_manifest(site, assets)
    csp = write_csp_hashes(site)
    return BuildResult(rendered, site, csp, assets, precompress(site))
