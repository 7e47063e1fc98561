"""Refused at the edge, before any view or database sees them: control characters (NUL and the
other C0/C1 codes) in the path or the query. SQLite would store them and PostgreSQL refuses NUL
with an error; no person types them. The answer is a plain 400 page. (Form fields get the same
check with a message at the field: `web.forms.Form`.)

And a form body werkzeug cannot read in full. Its parser is lenient by default: a body it
cannot parse (a part without Content-Disposition, header bytes that are not UTF-8, a cut-off
body) becomes an empty form, and a part without a name is kept under the key None, so a
document would go missing without a word. `StrictFormDataParser` makes such a body a 400 with
the app's page instead, through werkzeug's public parser class and `silent` switch. (A part
whose raw line break in its filename made werkzeug read it as text is caught by the form,
which knows its file fields: `web.forms.Form`; a filename with other control characters or a
part holding parts, by the upload checks, at the field.)"""

from __future__ import annotations

import re
from typing import IO, Any

from flask import Flask, abort, request
from flask import Request as FlaskRequest
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import FormDataParser

from .errors import _page

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


# a header name is an RFC 9110 token: anything else is a line break inside a header value
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_DISCARD_CHUNK = 64 * 1024


class MalformedBody(BadRequest):
    """A form body that cannot be read in full; answered with the app's 400 page."""


class StrictFormDataParser(FormDataParser):
    """werkzeug's form parser, refusing instead of dropping what it cannot read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["silent"] = False  # a parse error raises instead of giving an empty form
        super().__init__(*args, **kwargs)

    def parse(self, stream: IO[bytes], mimetype: str, content_length: int | None,
              options: dict[str, str] | None = None) -> Any:
        try:
            parsed = super().parse(stream, mimetype, content_length, options)
        except ValueError:
            # read the rest (already limited to MAX_CONTENT_LENGTH): the client gets our page,
            # not a reset, and any second look at the form finds nothing half-read
            while stream.read(_DISCARD_CHUNK):
                pass
            raise MalformedBody() from None
        _stream, form, files = parsed
        if None in form or None in files:
            raise MalformedBody()  # a part without a name
        for storage in files.values():
            if not all(_HEADER_NAME.fullmatch(name) for name in storage.headers.keys()):
                raise MalformedBody()  # a raw line break split a header of this file part
        return parsed


class Request(FlaskRequest):
    form_data_parser_class = StrictFormDataParser


def _malformed_body(exc: MalformedBody) -> Any:
    return _page(400, "提交的内容没有完整收到",
                 "这次提交的内容格式有误（常见于文件名里有特殊字符），什么都没有保存。请返回上一页，"
                 "给文件改一个简单的名字、重新选择后再提交；也可以致电服务热线。")


def init_app(app: Flask) -> None:
    app.request_class = Request
    app.before_request(_refuse_control_characters)
    app.register_error_handler(MalformedBody, _malformed_body)
