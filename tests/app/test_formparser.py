"""forms_app.formparser against werkzeug's own FormDataParser: for the same bytes, the same
form, the same files (names, filenames, content types, headers, contents) and the same errors,
whichever way the server happens to cut the body into reads."""

from __future__ import annotations

import io
import os
import random
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.formparser import FormDataParser

from forms_app import formparser
from forms_app.formparser import FastFormDataParser
from service_rules import Rules
from tests.app.conftest import PDF, post_form, valid_data

MAX_FORM_MEMORY = 500 * 1024   # the app's MAX_FORM_MEMORY_SIZE
MAX_PARTS = 200                # the app's MAX_FORM_PARTS
MAX_CONTENT = 40 * 1024 * 1024  # the app's MAX_CONTENT_LENGTH
B = "----WebKitFormBoundary7MA4YWxkTrZu0gW"


class Reads:
    """A request body as a server hands it over: each read returns at most `sizes[i]`
    bytes (a socket rarely fills the whole 64 KB werkzeug asks for)."""

    def __init__(self, body: bytes, sizes: list[int] | None = None,
                 fail_at: int | None = None) -> None:
        self._body = io.BytesIO(body)
        self._sizes = list(sizes or [])
        self._fail_at = fail_at

    def read(self, n: int = -1) -> bytes:
        if self._fail_at is not None and self._body.tell() >= self._fail_at:
            raise OSError("connection reset by peer")
        if self._sizes:
            n = min(n, self._sizes.pop(0)) if n >= 0 else self._sizes.pop(0)
        return self._body.read(n)


def outcome(parser_class: type[FormDataParser], body: bytes, content_type: str,
            sizes: list[int] | None = None, fail_at: int | None = None, **limits: Any) -> Any:
    """What the parser makes of the body: the HTTP status it raises, or the form and files."""
    options = {"max_form_memory_size": MAX_FORM_MEMORY, "max_form_parts": MAX_PARTS,
               "max_content_length": MAX_CONTENT, **limits}
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": content_type,
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": Reads(body, sizes, fail_at)}
    try:
        _, form, files = parser_class(**options).parse_from_environ(environ)
    except HTTPException as exc:
        return exc.code
    return (
        list(form.items(multi=True)),
        [(key, f.filename, f.name, f.content_type, f.mimetype, list(f.headers.items()),
          f.stream.tell(), f.read())
         for key, f in files.items(multi=True)],
    )


def same(body: bytes, content_type: str = f"multipart/form-data; boundary={B}",
         sizes: list[int] | None = None, fail_at: int | None = None, **limits: Any) -> Any:
    ours = outcome(FastFormDataParser, body, content_type, sizes, fail_at, **limits)
    theirs = outcome(FormDataParser, body, content_type, sizes, fail_at, **limits)
    assert ours == theirs
    return ours


def part(name: str | None, value: bytes, *, filename: str | None = None,
         headers: list[str] | None = None, disposition: str | None = None) -> bytes:
    if disposition is None:
        disposition = "form-data" + (f'; name="{name}"' if name is not None else "")
        if filename is not None:
            disposition += f'; filename="{filename}"'
    lines = [f"Content-Disposition: {disposition}", *(headers or [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + value


def body_of(*parts: bytes, boundary: str = B, epilogue: bytes = b"\r\n",
            preamble: bytes = b"", newline: bytes = b"\r\n") -> bytes:
    delim = newline + b"--" + boundary.encode()
    out = preamble + b"--" + boundary.encode() + newline
    out += (delim + newline).join(p.replace(b"\r\n", newline) for p in parts)
    return out + delim + b"--" + epilogue


PDF_100K = PDF * (100 * 1024 // len(PDF))
FORM = body_of(
    part("insured_name", "张三".encode()),
    part("id_number", b"11010519491231002X"),
    part("doc_pathology_report", PDF_100K, filename="病理报告.pdf",
         headers=["Content-Type: application/pdf"]),
)


# -- fixed bodies ----------------------------------------------------------------------------
def test_a_browser_form_with_a_pdf_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_replay(*args: Any) -> Any:
        raise AssertionError("werkzeug should not have been asked")

    monkeypatch.setattr(FormDataParser, "_parse_multipart", no_replay)
    form, files = outcome(FastFormDataParser, FORM, f"multipart/form-data; boundary={B}")
    assert form == [("insured_name", "张三"), ("id_number", "11010519491231002X")]
    (key, filename, name, ctype, _, headers, pos, data), = files
    assert (key, filename, name, ctype, pos, data) == (
        "doc_pathology_report", "病理报告.pdf", "doc_pathology_report", "application/pdf", 0,
        PDF_100K)
    assert ("Content-Type", "application/pdf") in headers


BODIES: dict[str, tuple[bytes, str]] = {
    "plain fields": (body_of(part("a", b"1"), part("b", b""), part("a", b"2")), B),
    "chinese names and values": (body_of(part("姓名", "张三".encode()),
                                         part("备注", "第一行\r\n第二行".encode())), B),
    "the 100 KB form": (FORM, B),
    "several files under one name": (body_of(
        part("doc", b"%PDF-1", filename="a.pdf", headers=["Content-Type: application/pdf"]),
        part("doc", b"\xff\xd8\xff", filename="b.jpg", headers=["Content-Type: image/jpeg"]),
        part("doc", b"", filename="c.png")), B),
    "file input left empty": (body_of(part("doc", b"", filename="",
                                           headers=["Content-Type: application/octet-stream"])),
                              B),
    "value ending in CR LF and dashes": (body_of(part("a", b"x\r\n--"), part("b", b"\r\n")), B),
    "data holding the boundary": (body_of(part("a", f"x--{B}y".encode()), part("b", b"2")), B),
    "data holding a LF delimiter": (body_of(part("a", f"x\n--{B}\n".encode() + part("c", b"3")),
                                            part("b", b"2")), B),
    "LF-only body": (body_of(part("a", b"1"), part("f", b"xy", filename="f.txt"),
                             newline=b"\n"), B),
    "CR-only body": (body_of(part("a", b"1"), newline=b"\r"), B),
    "preamble": (body_of(part("a", b"1"), preamble=b"This is a preamble.\r\n"), B),
    "leading CRLF": (body_of(part("a", b"1"), preamble=b"\r\n"), B),
    "epilogue": (body_of(part("a", b"1"), epilogue=b"\r\nThis is the epilogue.\r\n"), B),
    "no CRLF after the closing boundary": (body_of(part("a", b"1"), epilogue=b""), B),
    "missing closing boundary": (body_of(part("a", b"1"))[: -len(B) - 6], B),
    "truncated in a file": (FORM[: len(FORM) // 2], B),
    "truncated in headers": (FORM[:120], B),
    "empty form": (f"--{B}--\r\n".encode(), B),
    "empty body": (b"", B),
    "garbage": (os.urandom(3000), B),
    "wrong boundary": (body_of(part("a", b"1"), boundary="other"), B),
    "boundary padding": (body_of(part("a", b"1"), part("b", b"2")).replace(
        f"--{B}\r\n".encode(), f"--{B}  \r\n".encode()), B),
    "quoted boundary with a space": (body_of(part("a", b"1"), boundary="a b'c"), '"a b\'c"'),
    "boundary ending in dashes": (body_of(part("a", b"1"), boundary="ab--"), "ab--"),
    "filename with a path": (body_of(part("f", b"x", filename="C:\\Users\\张三\\报告.pdf")), B),
    "filename with quotes": (body_of(part("f", b"x",
                                          disposition='form-data; name="f"; '
                                                      'filename="a \\"b\\".pdf"')), B),
    "filename*= in UTF-8": (body_of(part("f", b"x", disposition=(
        "form-data; name=\"f\"; filename=\"a.pdf\"; "
        "filename*=UTF-8''%E7%97%85%E7%90%86.pdf"))), B),
    "part without a name": (body_of(part(None, b"1"), part("b", b"2")), B),
    "part without Content-Disposition": (body_of(b"Content-Type: text/plain\r\n\r\nx"), B),
    "part without headers": (body_of(b"\r\nx", part("b", b"2")), B),
    "header continuation line": (body_of(
        b'Content-Disposition: form-data;\r\n name="a"\r\n\r\n1'), B),
    "header without a colon": (body_of(b'Content-Disposition: form-data; name="a"\r\n'
                                       b"junk\r\n\r\n1"), B),
    "header with invalid UTF-8": (body_of(b'Content-Disposition: form-data; name="\xff"\r\n\r\n1'),
                                  B),
    "header with a bare LF": (body_of(b'Content-Disposition: form-data; name="a"\nX: y\r\n\r\n1'),
                              B),
    "tab before a header value": (body_of(b'Content-Disposition:\tform-data; name="a"  \r\n'
                                          b"Content-Type:\ttext/plain; charset=iso-8859-1\r\n"
                                          b"\r\n\xe9"), B),
    "charset of a field part": (body_of(part("a", "é".encode("latin-1"),
                                             headers=["Content-Type: text/plain; "
                                                      "charset=ISO-8859-1"])), B),
    "invalid UTF-8 in a value": (body_of(part("a", b"\xff\xfe ok")), B),
    "nine headers": (body_of(part("a", b"1", headers=[f"X-{i}: {i}" for i in range(8)])), B),
    "long header": (body_of(part("a", b"1", headers=["X-Long: " + "y" * 10_000])), B),
    "huge header block": (body_of(part("a", b"1", headers=["X-Long: " + "y" * 600_000])), B),
}


@pytest.mark.parametrize("body,boundary", list(BODIES.values()), ids=list(BODIES))
def test_same_as_werkzeug(body: bytes, boundary: str) -> None:
    content_type = f"multipart/form-data; boundary={boundary}"
    same(body, content_type)
    # and the same when the server hands the body over in small, uneven reads
    for seed in range(5):
        rng = random.Random(seed)
        same(body, content_type, [rng.randint(1, 300) for _ in range(len(body) // 50 + 10)])


@pytest.mark.parametrize("content_type", [
    "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=é",
    "multipart/form-data; boundary=" + "x" * 300, "multipart/form-data; boundary=a\r\nb",
    "multipart/form-data; charset=utf-8",
])
def test_bad_boundary_parameter(content_type: str) -> None:
    same(FORM, content_type)


def test_huge_field_is_413_like_werkzeug() -> None:
    assert same(body_of(part("a", b"x" * (MAX_FORM_MEMORY + 1)))) == 413
    ok = same(body_of(part("a", b"x" * MAX_FORM_MEMORY)))
    assert ok != 413 and len(ok[0][0][1]) == MAX_FORM_MEMORY
    # files are not limited by it
    assert same(body_of(part("f", b"x" * (2 * MAX_FORM_MEMORY), filename="f.pdf"))) != 413


def test_too_many_parts_is_413_like_werkzeug() -> None:
    assert same(body_of(*[part(f"f{i}", b"1") for i in range(MAX_PARTS + 1)])) == 413
    assert len(same(body_of(*[part(f"f{i}", b"1") for i in range(MAX_PARTS)]))[0]) == MAX_PARTS


def test_request_over_max_content_length_is_413_like_werkzeug() -> None:
    assert same(FORM, max_content_length=len(FORM) - 1) == 413
    assert same(FORM, max_content_length=len(FORM)) != 413


def test_small_max_form_memory_size_is_left_to_werkzeug() -> None:
    # werkzeug refuses any read that with its buffer exceeds the limit: hand it such settings
    assert same(FORM, max_form_memory_size=10_000) == 413


def test_the_closing_boundary_cut_after_its_first_dash() -> None:
    # werkzeug keeps the CR before a closing boundary cut there in the last part's data
    body = body_of(part("a", b"1"), part("f", b"data", filename="f.bin"))
    cut = len(body) - 3
    ours = same(body, sizes=[cut, 100])
    assert ours[1][0][-1] == b"data\r"
    assert same(body, sizes=[cut - 1, 100])[1][0][-1] == b"data"


def test_large_body_replayed_from_a_temporary_file() -> None:
    # a problem found after more than the in-memory recording: werkzeug re-reads it all
    big = os.urandom(3 * formparser._RECORD_IN_MEMORY)
    late = f"1\n--{B}\n".encode() + part("c", b"3")  # a LF delimiter, found at the very end
    ours = same(body_of(part("f", big, filename="f.bin"), part("a", late)))
    assert ours[1][0][-1] == big and ours[0] == [("a", "1"), ("c", "3")]


def test_a_body_trickling_in_is_replayed_read_by_read() -> None:
    # thousands of tiny reads (more than are kept in memory), then werkzeug has to decide
    body = body_of(part("a", b"1" * 3000), part("f", b"x" * 5000, filename="f.bin"),
                   newline=b"\n")
    assert same(body, sizes=[1] * 6000 + [2, 3] * 500)[0] == [("a", "1" * 3000)]


def test_a_client_gone_midway_is_400_like_werkzeug() -> None:
    assert same(FORM, fail_at=0) == same(FORM, fail_at=65_536) == 400
    # after a chunk that already sent the fast path to werkzeug
    lf_body = body_of(part("f", PDF_100K, filename="f.pdf"), newline=b"\n")
    assert same(lf_body, fail_at=65_536) == 400


def test_not_silent_raises_what_werkzeug_raises() -> None:
    body = body_of(part("a", b"1"))[:-10]
    errors = []
    for cls in (FastFormDataParser, FormDataParser):
        with pytest.raises(ValueError) as info:
            cls(silent=False).parse(io.BytesIO(body), "multipart/form-data", len(body),
                                    {"boundary": B})
        errors.append(type(info.value))
    assert errors[0] is errors[1]


# -- generated bodies ------------------------------------------------------------------------
CI = os.environ.get("CI") == "true"
BOUNDARIES = st.sampled_from([B, "x", "ab--", "-a-", "a b", "---------------1234", "z" * 70])
PIECES = st.sampled_from([b"\r\n", b"\n", b"\r", b"--", b"-", b" ", b"\t", b":", b";", b'"',
                          b"\xff", "字".encode(), b"x", b"name", b"\r\n\r\n"])


def mostly(usual: Any, *unusual: Any) -> st.SearchStrategy[Any]:
    """Usually what browsers send, sometimes something else: most generated bodies must get
    through the fast path, or the property would compare werkzeug with itself."""
    return st.sampled_from([usual] * 12 * len(unusual) + list(unusual))


@st.composite
def multipart_bodies(draw: Callable[..., Any]) -> tuple[bytes, str, list[int]]:
    boundary = draw(BOUNDARIES)
    delim = f"--{boundary}".encode()
    values = st.one_of(
        st.binary(max_size=200),
        st.text(max_size=50).map(lambda s: s.encode()),
        st.lists(st.one_of(PIECES, st.just(delim[: draw(st.integers(1, len(delim)))])),
                 max_size=12).map(b"".join),
    )
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        headers = []
        if draw(mostly(True, False)):
            name = draw(st.sampled_from(["a", "b", "文件", "a b", 'q"', ""]))
            cd = f'form-data; name="{name}"'
            if draw(st.booleans()):
                cd += f'; filename="{draw(st.sampled_from(["", "f.pdf", "报告.pdf", "a/b"]))}"'
            headers.append(f"Content-Disposition: {cd}".encode())
        if draw(st.booleans()):
            headers.append(draw(mostly(
                b"Content-Type: application/pdf", b"Content-Type: text/plain; charset=latin-1",
                b"X-Empty:", b"X-Sp:   v  ", b" folded", b"bad", b"Content-Length: 3",
                b"X-Bad: \xff")))
        nl = draw(mostly(b"\r\n", b"\n", b"\r"))
        parts.append(nl.join(headers) + nl + nl + draw(values))
    nl = draw(mostly(b"\r\n", b"\n", b"\r\n  "))
    body = draw(mostly(b"", b"\r\n", b"pre\r\n")) + delim + nl
    body += (b"\r\n" + delim + nl).join(parts) if parts else b""
    body += b"\r\n" + delim + b"--" + draw(mostly(b"\r\n", b"", b"\r\nepi", b"  \r\n"))
    if draw(mostly(False, True)):
        body = body[: draw(st.integers(0, len(body)))]
    sizes = draw(st.lists(st.integers(1, 64), max_size=40))
    return body, boundary, sizes


@settings(max_examples=200, derandomize=CI, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(multipart_bodies())
def test_generated_bodies_same_as_werkzeug(case: tuple[bytes, str, list[int]]) -> None:
    body, boundary, sizes = case
    same(body, f'multipart/form-data; boundary="{boundary}"', sizes)
    same(body, f'multipart/form-data; boundary="{boundary}"')


# -- through the app -------------------------------------------------------------------------
def test_the_app_parses_forms_with_it(app: Flask, client: FlaskClient, rules: Rules,
                                      fresh_form: Callable[..., dict[str, str]],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert app.request_class.form_data_parser_class is FastFormDataParser
    seen = []
    parse = FastFormDataParser._parse_multipart

    def spy(self: FastFormDataParser, *args: Any) -> Any:
        result = parse(self, *args)
        seen.append((self.max_form_memory_size, self.max_form_parts, self.max_content_length,
                     result[2]["doc_pathology_report"].filename))
        return result

    monkeypatch.setattr(FastFormDataParser, "_parse_multipart", spy)
    data = valid_data(rules, "second_opinion")
    data["doc_pathology_report"] = (io.BytesIO(PDF_100K), "病理报告.pdf")
    resp = post_form(client, "second_opinion", fresh_form("second_opinion"), data)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    assert seen == [(app.config["MAX_FORM_MEMORY_SIZE"], app.config["MAX_FORM_PARTS"],
                     app.config["MAX_CONTENT_LENGTH"], "病理报告.pdf")]
