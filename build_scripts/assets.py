"""The project's own CSS and JS in the built site: minified, with content-hashed names.

`mkdocs build` copies `docs/stylesheets/*.css` and `docs/javascripts/*.js` as they are, under
fixed names, so a browser must revalidate them on every visit. After the build each is
minified (rcssmin, rjsmin) and renamed `name.<8 hex of its sha256>.min.ext`, every page's
reference is rewritten, and the original is removed. The serving side's contract: a name
matching `IMMUTABLE_NAME` may be cached for a year as immutable (Material's own bundles,
`bundle.a5f9d56c.min.js`, already match); everything else is revalidated.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import rcssmin
import rjsmin

# The contract with the server (WhiteNoise's immutable_file_test, a CDN rule): see SERVING.md.
IMMUTABLE_NAME = re.compile(r"\.[0-9a-f]{8,}(\.min)?\.(js|css)$")
HASH_LENGTH = 8

# The project's hand-written assets, relative to the site (as to the docs folder).
OWN_ASSET_DIRS: dict[str, str] = {"stylesheets": ".css", "javascripts": ".js"}

# href="..." or src="..." in the built HTML (MkDocs writes double-quoted attributes).
URL_ATTRIBUTE = re.compile(r'(\b(?:href|src)=")([^"#?]+)([^"]*")')


def minify_css(text: str) -> str:
    return rcssmin.cssmin(text)


def minify_js(text: str) -> str:
    # keep_bang_comments: licence headers (/*! ... */) stay, as minifiers usually do
    return rjsmin.jsmin(text, keep_bang_comments=True)


MINIFIERS: dict[str, Callable[[str], str]] = {".css": minify_css, ".js": minify_js}


@dataclass(frozen=True)
class Fingerprinted:
    """One asset: its original and new path, relative to the site, posix."""

    original: str
    hashed: str


def hashed_name(path: str, data: bytes) -> str:
    """stylesheets/extra.css + its minified bytes -> stylesheets/extra.3f2a91c0.min.css."""
    stem, ext = posixpath.splitext(path)
    digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
    return f"{stem}.{digest}.min{ext}"


def own_assets(site_dir: Path) -> list[str]:
    """The project's CSS and JS in the built site that are not fingerprinted yet."""
    found = []
    for folder, ext in OWN_ASSET_DIRS.items():
        for path in sorted((Path(site_dir) / folder).rglob(f"*{ext}")):
            rel = path.relative_to(site_dir).as_posix()
            if not IMMUTABLE_NAME.search(rel):
                found.append(rel)
    return found


def _resolve(page: str, url: str) -> str | None:
    """A link's target relative to the site root, or None for another host/scheme."""
    if re.match(r"^[a-z][a-z0-9+.-]*:|^//", url, re.I):
        return None
    if url.startswith("/"):
        return posixpath.normpath(url.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(page), url))


def rewrite_references(html: str, page: str, renames: dict[str, str]) -> str:
    """`html` (of site-relative `page`) with links to renamed files pointing at the new names,
    keeping each link's own form (relative or absolute)."""

    def replace(match: re.Match[str]) -> str:
        url = match.group(2)
        target = _resolve(page, url)
        if target not in renames:
            return match.group(0)
        new_url = url[: len(url) - len(posixpath.basename(url))] + posixpath.basename(
            renames[target])
        return match.group(1) + new_url + match.group(3)

    return URL_ATTRIBUTE.sub(replace, html)


def fingerprint_assets(site_dir: Path) -> list[Fingerprinted]:
    """Minify and rename the project's CSS and JS, rewrite every page that refers to them.

    The file under the original name stays (minified too): the request app's pages link
    /stylesheets/extra.css by that name (asset-manifest.json gives the hashed one). Site
    pages no longer refer to it, so it is revalidated, not cached for a year.
    """
    site_dir = Path(site_dir)
    renames: dict[str, str] = {}
    for rel in own_assets(site_dir):
        source = site_dir / rel
        minified = MINIFIERS[source.suffix](source.read_text(encoding="utf-8")).encode("utf-8")
        new_rel = hashed_name(rel, minified)
        (site_dir / new_rel).write_bytes(minified)
        source.write_bytes(minified)
        renames[rel] = new_rel
    if renames:
        for page in site_dir.rglob("*.html"):
            rel_page = page.relative_to(site_dir).as_posix()
            html = page.read_text(encoding="utf-8")
            new = rewrite_references(html, rel_page, renames)
            if new != html:
                page.write_text(new, encoding="utf-8")
    return [Fingerprinted(o, n) for o, n in renames.items()]


MANIFEST = "asset-manifest.json"


def write_asset_manifest(site_dir: Path, assets: list[Fingerprinted]) -> Path:
    """site/asset-manifest.json: original name -> hashed name, for pages built elsewhere
    (the request app) that want the immutable file."""
    path = Path(site_dir) / MANIFEST
    data = {a.original: a.hashed for a in assets}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
