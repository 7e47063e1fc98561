"""`python -m build_scripts`: validate content, render pages, `mkdocs build --strict`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mkdocs.exceptions import MkDocsException

from service_rules.problems import ContentError, render_problems

from .build import SITE_DIR, build
from .render import DOCS_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m build_scripts", description=__doc__)
    parser.add_argument("--content", type=Path, default=None,
                        help="content folder (default: content/ or $CONTENT_DIR)")
    parser.add_argument("--docs-dir", type=Path, default=DOCS_DIR,
                        help="folder to render into; hand-written docs are copied there first")
    parser.add_argument("--site-dir", type=Path, default=SITE_DIR, help="output folder")
    parser.add_argument("--apply-base", default=None,
                        help="base URL of the request app (default: $APPLY_BASE_URL, same host)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show MkDocs' progress")
    args = parser.parse_args(argv)
    try:
        result = build(args.content, docs_dir=args.docs_dir, site_dir=args.site_dir,
                       apply_base=args.apply_base, verbose=args.verbose)
    except ContentError as exc:
        print(render_problems(exc.problems), file=sys.stderr)
        print("内容检查未通过，网站没有生成。", file=sys.stderr)
        return 1
    except MkDocsException as exc:
        print(f"MkDocs 构建失败：{exc}", file=sys.stderr)
        return 1
    print(f"网站已生成：{result.site_dir}（{len(result.rendered.pages)} 个生成页面）")
    return 0


if __name__ == "__main__":
    sys.exit(main())
