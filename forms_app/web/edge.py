"""Refused at the edge, before any view or database sees them: control characters (NUL and the
other C0/C1 codes) in the path or the query. SQLite would store them and PostgreSQL refuses NUL
with an error; no person types them. The answer is a plain 400 page. (Form fields get the same
check with a message at the field: `web.forms.Form`.)"""

from __future__ import annotations

import re

from flask import Flask, abort, request

# tab, LF and CR stay allowed in form text (a note typed on several lines)
_FORBIDDEN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# nothing of the sort belongs in a path or a query
_FORBIDDEN_URL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_chars(text: str, *, allow_line_breaks: bool = True) -> bool:
    pattern = _FORBIDDEN_TEXT if allow_line_breaks else _FORBIDDEN_URL
    return pattern.search(text) is not None


def _refuse_control_characters() -> None:
    if has_control_chars(request.path, allow_line_breaks=False):
        abort(400)
    for key, value in request.args.items(multi=True):
        if has_control_chars(key + value, allow_line_breaks=False):
            abort(400)


def init_app(app: Flask) -> None:
    app.before_request(_refuse_control_characters)
