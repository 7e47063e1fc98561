"""Re-segment the built search index so a part of a name or term finds its sections.

Material's search plugin cuts Chinese with jieba at build time and joins the words with
U+200B in `search/search_index.json`; the theme's worker then splits the text on U+200B, so
each jieba word becomes one index token. The user dictionary keeps whole names and terms as
one word (北京协和医院, 第二诊疗意见), which hides their parts: the worker matches a query by
prefix only (协和 becomes `协和*`), so 协和 never finds 福建医科大学附属协和医院.

After `mkdocs build` this module rewrites the index (no MkDocs hook or plugin, so the site stays
portable to Zensical, which ignores this file's format):

- in `title` and `text`, each whole word is cut into its finest parts that are dictionary words
  of two or more characters (北京协和医院 -> 北京 协和 医院), so a part is a token of its own
  and is highlighted in the results;
- a field `words` (indexed, never displayed) holds, for every word of three or more characters,
  the whole word and every other dictionary word inside it (诊疗意见 inside 第二诊疗意见, 协和医院),
  like jieba's search mode. The worker expands `诊疗*` to 诊疗 and 诊疗意见, so a section that
  contains the whole term scores above one that only shares its first word: best match first,
  and whole words keep working.
"""

from __future__ import annotations

import json
import logging
import math
import posixpath
import re
from functools import lru_cache
from pathlib import Path

import jieba

ZWSP = "\u200b"
# Han script as the plugin's `\p{script: Han}` (main blocks and extensions)
HAN_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
WORDS_FIELD = "words"
# As the text field: a whole word adds to the score as much as a word of the running text.
WORDS_BOOST = 1.0


class Segmenter:
    """jieba's default dictionary plus the site's user dictionary.

    Uses jieba's global tokenizer when the search plugin has already loaded it in this
    process (loading the dictionary costs about a second; adding the user dictionary's words
    again changes nothing), a fresh one otherwise."""

    def __init__(self, user_dict: Path | None = None):
        logging.getLogger("jieba").setLevel(logging.WARNING)
        self.tokenizer = jieba.dt if jieba.dt.initialized else jieba.Tokenizer()
        self.tokenizer.initialize()
        if user_dict is not None and Path(user_dict).is_file():
            self.tokenizer.load_userdict(str(user_dict))
        self.freq = self.tokenizer.FREQ
        self.log_total = math.log(self.tokenizer.total)
        self._parts = lru_cache(maxsize=None)(self._parts_uncached)
        self._inner = lru_cache(maxsize=None)(self._inner_uncached)

    def is_word(self, text: str) -> bool:
        return bool(self.freq.get(text))

    def parts(self, word: str) -> tuple[str, ...]:
        """Finest cut of `word` into dictionary words of 2+ characters; (word,) if none."""
        return self._parts(word)

    def inner_words(self, word: str) -> tuple[str, ...]:
        """The whole word (when it was cut) and every other dictionary word inside it."""
        return self._inner(word)

    def _cut_once(self, word: str) -> list[str] | None:
        # Most probable cover of `word` by dictionary words of 2+ characters other than the
        # word itself (jieba's own scoring: sum of log frequencies); None when there is none.
        # Single characters are not allowed: 住院条 stays whole (住院* finds it by prefix).
        n = len(word)
        best: list[tuple[float, int] | None] = [None] * (n + 1)
        best[n] = (0.0, n)
        for i in range(n - 2, -1, -1):
            options = []
            for j in range(i + 2, n + 1):
                if (i, j) == (0, n) or best[j] is None or not self.is_word(word[i:j]):
                    continue
                score = math.log(self.freq[word[i:j]]) - self.log_total + best[j][0]
                options.append((score, j))
            best[i] = max(options) if options else None
        if best[0] is None:
            return None
        pieces, i = [], 0
        while i < n:
            j = best[i][1]
            pieces.append(word[i:j])
            i = j
        return pieces

    def _parts_uncached(self, word: str) -> tuple[str, ...]:
        if len(word) < 3:
            return (word,)
        pieces = self._cut_once(word)
        if pieces is None:
            return (word,)
        return tuple(p for piece in pieces for p in self.parts(piece))

    def _inner_uncached(self, word: str) -> tuple[str, ...]:
        if len(word) < 3:
            return ()
        parts = set(self.parts(word))
        found = [] if parts == {word} else [word]
        for size in range(len(word) - 1, 1, -1):
            for i in range(len(word) - size + 1):
                sub = word[i:i + size]
                if sub not in parts and sub not in found and self.is_word(sub):
                    found.append(sub)
        return tuple(found)


def resegment(value: str, segmenter: Segmenter, words: list[str]) -> str:
    """`value` with each Han word replaced by its parts; inner words appended to `words`."""
    pieces = value.split(ZWSP)
    out = []
    for piece in pieces:
        if len(piece) >= 3 and HAN_WORD.fullmatch(piece):
            out.extend(segmenter.parts(piece))
            words.extend(segmenter.inner_words(piece))
        else:
            out.append(piece)
    return ZWSP.join(out)


def resegment_index(data: dict, segmenter: Segmenter) -> dict:
    """The search index (as loaded from search_index.json) re-segmented, in place."""
    fields = data.setdefault("config", {}).setdefault("fields", {})
    if WORDS_FIELD in fields:
        return data  # already re-segmented: its whole words are gone from title and text
    fields[WORDS_FIELD] = {"boost": WORDS_BOOST}
    for doc in data.get("docs", []):
        words: list[str] = []
        for field in ("title", "text"):
            if isinstance(doc.get(field), str):
                doc[field] = resegment(doc[field], segmenter, words)
        if words:
            doc[WORDS_FIELD] = ZWSP.join(words)
        else:
            doc.pop(WORDS_FIELD, None)
    return data


def rewrite_search_index(site_dir: Path, user_dict: Path | None) -> Path | None:
    """Re-segment `site_dir/search/search_index.json` in place (None when there is none)."""
    path = Path(site_dir) / "search" / "search_index.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    resegment_index(data, Segmenter(user_dict))
    # the plugin's own compact form
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                    encoding="utf-8")
    return path


# -- the query side: the site's search worker ------------------------------------------------
WORKER_SOURCE = Path(__file__).with_name("search_worker.js")
WORKERS_DIR = "assets/javascripts/workers"
MATERIAL_WORKER = re.compile(r"^search\.[0-9a-f]{8,}\.min\.js$")
CONFIG_SCRIPT = re.compile(r'(<script id="__config" type="application/json">)(.*?)(</script>)',
                           re.S)


def install_search_worker(site_dir: Path) -> str | None:
    """Write the site's worker (search_worker.js around Material's) beside Material's worker
    and point every page's __config at it; its site-relative path, or None without search."""
    from .assets import hashed_name, minify_js

    site_dir = Path(site_dir)
    folder = site_dir / WORKERS_DIR
    theirs = sorted(p.name for p in folder.glob("search.*.min.js")
                    if MATERIAL_WORKER.match(p.name)) if folder.is_dir() else []
    if len(theirs) != 1:
        return None
    material = theirs[0]
    source = WORKER_SOURCE.read_text(encoding="utf-8").replace("__MATERIAL_WORKER__", material)
    data = minify_js(source).encode("utf-8")
    ours = hashed_name(f"{WORKERS_DIR}/cc-search.js", data)
    (site_dir / ours).write_bytes(data)
    new_name = posixpath.basename(ours)

    def point(match: re.Match[str]) -> str:
        return match.group(1) + match.group(2).replace(f"/{material}\"", f"/{new_name}\"") \
            + match.group(3)

    for page in site_dir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        new = CONFIG_SCRIPT.sub(point, html)
        if new != html:
            page.write_text(new, encoding="utf-8")
    return ours
