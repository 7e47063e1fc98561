"""Build the policyholder site from content: render Markdown with Jinja2, then MkDocs.

    python -m build_scripts [--content DIR] [--docs-dir DIR] [--site-dir DIR]
"""

from .build import build, run_mkdocs
from .render import render

__all__ = ["build", "render", "run_mkdocs"]
