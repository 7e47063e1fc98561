"""What the preview rebuilds, in process: nothing when nothing changed, no re-render for a
hand-written page, the last good site on an error, and the banner markup."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from build_scripts import preview as preview_module
from build_scripts.preview import BANNER_ID, Preview, banner_html, insert_banner
from build_scripts.render import DOCS_DIR, GENERATED_DIRS, GENERATED_FILES

GENERATED = set(GENERATED_FILES) | set(GENERATED_DIRS)


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """The hand-written docs only (as in a fresh clone)."""
    target = tmp_path / "docs-src"
    shutil.copytree(DOCS_DIR, target,
                    ignore=lambda d, names: GENERATED if Path(d) == DOCS_DIR else set())
    return target


@pytest.fixture
def preview(content_copy: Path, docs_copy: Path, tmp_path: Path):
    out, err = io.StringIO(), io.StringIO()
    p = Preview(content_copy, tmp_path / "work", docs_source=docs_copy, apply_base="",
                out=out, err=err)
    p.out_buffer, p.err_buffer = out, err  # type: ignore[attr-defined]
    yield p
    p.close()


def test_nothing_changed_means_no_rebuild(preview: Preview, content_copy: Path) -> None:
    first = preview.build()
    assert (first.outcome, first.rendered, first.mkdocs) == ("built", True, True)
    assert (preview.site_dir / "services/green_channel/index.html").is_file()
    index = preview.site_dir / "index.html"
    built_at = index.stat().st_mtime_ns

    again = preview.build()
    assert (again.outcome, again.rendered, again.mkdocs) == ("unchanged", False, False)

    # Saving a file without changing it is not a change either.
    services = content_copy / "services.yaml"
    services.write_bytes(services.read_bytes())
    (content_copy / ".services.yaml.swp").write_bytes(b"editor swap file")
    assert preview.build().outcome == "unchanged"
    assert (preview.renders, preview.builds) == (1, 1)
    assert index.stat().st_mtime_ns == built_at


def test_handwritten_change_skips_render(preview: Preview, docs_copy: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    preview.build()
    renders: list[object] = []
    real_render = preview_module.render
    monkeypatch.setattr(preview_module, "render",
                        lambda *a, **k: renders.append(a) or real_render(*a, **k))
    css = docs_copy / "stylesheets/extra.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n/* preview-test-marker */\n",
                   encoding="utf-8")

    result = preview.build()
    assert (result.outcome, result.rendered, result.mkdocs) == ("built", False, True)
    assert renders == []
    built_css = (preview.site_dir / "stylesheets/extra.css").read_text(encoding="utf-8")
    assert "preview-test-marker" in built_css
    # The generated pages are still there.
    assert (preview.site_dir / "services/green_channel/index.html").is_file()


def test_mkdocs_failure_keeps_last_good_site(preview: Preview, docs_copy: Path) -> None:
    preview.build()
    # A hand-written page that is not in the navigation: strict MkDocs refuses the build.
    (docs_copy / "stray.md").write_text("# 草稿\n", encoding="utf-8")
    result = preview.build()
    assert (result.outcome, result.mkdocs) == ("build_error", False)
    assert (preview.site_dir / "services/green_channel/index.html").is_file()
    assert not (preview.site_dir / "stray").exists()
    assert preview.build_error and "stray.md" in preview.build_error
    assert b"stray.md" in preview.banner()
    assert "stray.md" in preview.err_buffer.getvalue()  # type: ignore[attr-defined]

    (docs_copy / "stray.md").unlink()
    result = preview.build()
    assert (result.outcome, result.mkdocs) == ("built", True)
    assert preview.banner() == b""


def test_broken_content_before_any_good_build(preview: Preview, content_copy: Path) -> None:
    services = content_copy / "services.yaml"
    services.write_text(services.read_text(encoding="utf-8").replace(
        "working_days: 5", "working_days: 五", 1), encoding="utf-8")
    result = preview.build()
    assert (result.outcome, result.rendered, result.mkdocs) == ("content_error", False, False)
    page = (preview.site_dir / "index.html").read_bytes()
    shown = BeautifulSoup(insert_banner(page, preview.banner()), "html.parser")
    message = shown.find(id=BANNER_ID).select_one("pre").get_text()
    assert "working_days" in message and message.endswith("检查未通过。")
    assert message in preview.err_buffer.getvalue()  # type: ignore[attr-defined]
    assert "预览尚未生成" in shown.get_text()


def test_banner_is_escaped_and_placed_after_body() -> None:
    banner = banner_html("第 3 行：<script>alert(1)</script> & 'x'", None)
    page = b'<html><body class="x"><p>hi</p></body></html>'
    shown = insert_banner(page, banner)
    assert shown.startswith(b'<html><body class="x"><div id="' + BANNER_ID.encode())
    assert b"<script>" not in shown
    soup = BeautifulSoup(shown, "html.parser")
    box = soup.find(id=BANNER_ID)
    assert box["role"] == "alert"
    assert box.select_one("pre").get_text() == "第 3 行：<script>alert(1)</script> & 'x'"
    assert soup.find(id=box["aria-labelledby"]).name == "h2"
    assert insert_banner(page, banner_html(None, None)) == page
