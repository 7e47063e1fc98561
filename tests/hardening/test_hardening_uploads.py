"""The last hardening findings on uploads, each a test that failed before its fix.

Malformed file parts were dropped without a word: a raw line break in a filename or a
multipart/mixed part made werkzeug read the file as text, a part without a name was kept under
None, a body it could not parse became an empty form, and an optional document went missing
from a stored request. Now: a message at the file's field when the field is known, else the
app's 400 page, and nothing stored.

A file's type was judged by its first bytes only (`%PDF-` and then a web page or a program was
stored as a PDF). Now every file is opened: pypdf must read a PDF with a page, Pillow must
decode an image in full within a pixel limit, and the name may not say another type. On every
upload path: the online form, the hotline intake and documents sent after submitting.
"""

from __future__ import annotations

import io
import re
import uuid
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfWriter
from sqlalchemy import func, select

from forms_app.storage.models import RequestDocument, ServiceRequest
from service_rules.deadlines import shanghai_today
from tests.support.forms import JPEG, PDF, PNG, hidden, valid_data
from tests.support.gunicorn_harness import (
    SUBMIT_PATH,
    Client,
    GunicornServer,
    csrf_token,
    second_opinion_submission,
)
from tests.support.sample_files import (
    minimal_pdf,
    noisy_image,
    padded_pdf,
    png_claiming,
)
from tests.support.staff import add_staff, post_event, sign_in

SERVICE = "second_opinion"  # every document optional: what goes missing goes unnoticed
SCAN = "doc_pathology_report"
OTHER = "doc_ct_report"
MZ_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"This program cannot be run"


def encrypted_pdf(user_password: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt(user_password, owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- helpers ------------------------------------------------------------------------------------
def count(app: Flask, model: Any) -> int:
    with app.extensions["forms_db"].read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def field_error(html: str, field: str) -> str:
    m = re.search(rf'<p class="app-error" id="{re.escape(field)}-error">(.*?)</p>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", m.group(1))).strip() if m else ""


def form_tokens(client: FlaskClient, path: str) -> dict[str, str]:
    html = client.get(path).get_data(as_text=True)
    return {name: hidden(html, name) for name in ("csrf_token", "submission_token")
            if f'name="{name}"' in html}


def text_fields(client: FlaskClient, rules: Any, path: str, service_id: str = SERVICE
                ) -> dict[str, str]:
    data = {k: v for k, v in valid_data(rules, service_id).items() if not k.startswith("doc_")}
    return {**form_tokens(client, path), **data}


def file_part(name: str, filename: str, data: bytes, ctype: str = "application/pdf"
              ) -> tuple[bytes, bytes]:
    return (f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}").encode(), data


def raw_body(fields: dict[str, str], parts: list[tuple[bytes, bytes]]) -> tuple[bytes, str]:
    """A multipart body whose file parts' headers are sent exactly as given (raw line breaks,
    control characters, bytes that are not UTF-8), as a hostile or broken client sends them."""
    boundary = b"hardening-" + uuid.uuid4().hex.encode()
    out = bytearray()
    for name, value in fields.items():
        out += b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (
            boundary, name.encode(), value.encode())
    for headers, data in parts:
        out += b"--%s\r\n%s\r\n\r\n%s\r\n" % (boundary, headers, data)
    out += b"--%s--\r\n" % boundary
    return bytes(out), f"multipart/form-data; boundary={boundary.decode()}"


def post_raw(client: FlaskClient, path: str, fields: dict[str, str],
             parts: list[tuple[bytes, bytes]]) -> Any:
    body, ctype = raw_body(fields, parts)
    return client.post(path, data=body, content_type=ctype)


@pytest.fixture
def app(make_app: Any) -> Flask:
    # CSRF off so the staff helpers post the console's forms directly (CSRF has its own tests)
    return make_app(SITE_DIR="/nonexistent-site", WTF_CSRF_ENABLED=False)


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    add_staff(app)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    return client


# -- 1. malformed file parts --------------------------------------------------------------------
NESTED = (b"--inner\r\nContent-Disposition: file; filename=\"ct.pdf\"\r\n"
          b"Content-Type: application/pdf\r\n\r\n" + PDF + b"\r\n--inner--")
AT_THE_FIELD = {
    "crlf in filename": file_part(SCAN, "病理\r\n报告.pdf", PDF),
    "lf in filename": file_part(SCAN, "病理\n报告.pdf", PDF),
    "cr in filename": file_part(SCAN, "病理\r报告.pdf", PDF),
    "crlf and a forged header": file_part(SCAN, "a\r\nContent-Type: text/html.pdf", PDF),
    "nul in filename": file_part(SCAN, "病理\x00报告.pdf", PDF),
    "escape in filename": file_part(SCAN, "病理\x1b[31m.pdf", PDF),
    "multipart/mixed part": ((f'Content-Disposition: form-data; name="{SCAN}"\r\n'
                              "Content-Type: multipart/mixed; boundary=inner").encode(), NESTED),
    "multipart/mixed file": file_part(SCAN, "ct.pdf", NESTED, "multipart/mixed; boundary=inner"),
    "content without a filename": file_part(SCAN, "", PDF),
}


@pytest.mark.parametrize("case", sorted(AT_THE_FIELD))
def test_a_malformed_file_part_is_refused_at_its_field_with_the_rest_kept(app, rules,
                                                                         case: str) -> None:
    client = app.test_client()
    fields = text_fields(client, rules, f"/apply/{SERVICE}")
    good = file_part(OTHER, "CT报告.pdf", PDF)
    resp = post_raw(client, f"/apply/{SERVICE}", fields, [good, AT_THE_FIELD[case]])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422, case  # before: 303, stored without the pathology report
    assert "重新选择" in field_error(html, SCAN), case
    assert count(app, ServiceRequest) == 0
    assert 'value="张三"' in html  # what was typed stays
    assert "已保留：CT报告.pdf" in html  # and so does the file that was fine


EDGE_REFUSED = {
    "file part without a name": (b'Content-Disposition: form-data; filename="a.pdf"', PDF),
    "text part without a name": (b"Content-Disposition: form-data", b"x"),
    "part without Content-Disposition": (b"Content-Type: application/pdf", PDF),
    "header bytes that are not UTF-8": (
        f'Content-Disposition: form-data; name="{SCAN}"; filename="'.encode()
        + "病理报告.pdf".encode("gbk") + b'"', PDF),
    "a line break inside another parameter": (
        f'Content-Disposition: form-data; name="{SCAN}"; filename="a.pdf"; x="1\r\n2"'.encode(),
        PDF),
}


@pytest.mark.parametrize("case", sorted(EDGE_REFUSED))
def test_a_body_werkzeug_cannot_read_in_full_is_the_400_page(app, rules, case: str) -> None:
    client = app.test_client()
    fields = text_fields(client, rules, f"/apply/{SERVICE}")
    resp = post_raw(client, f"/apply/{SERVICE}", fields,
                    [file_part(OTHER, "CT报告.pdf", PDF), EDGE_REFUSED[case]])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400, case  # before: an empty form, or a 303 missing a file
    assert "提交的内容没有完整收到" in html and "Traceback" not in html
    assert "张三" not in html and fields["id_number"] not in html  # nothing typed echoed
    assert count(app, ServiceRequest) == 0


@pytest.mark.slow
def test_a_large_malformed_body_gets_the_page_on_a_real_server(tmp_path) -> None:
    """gunicorn's sync workers read the body from the socket as the app asks: the rest of a
    body refused early (9 MB after the broken part) is read and dropped, so the client gets
    the whole 400 page rather than a reset connection; then an ordinary submission works."""
    with GunicornServer(tmp_path, workers=1) as server:
        client = Client(server.base_url)
        sub = second_opinion_submission(csrf_token(client.get(SUBMIT_PATH)[2]))
        body, ctype = raw_body(dict(sub.fields), [
            (b"Content-Type: application/pdf", PDF),  # no Content-Disposition
            file_part(OTHER, "CT报告.pdf", padded_pdf(9 * 1024 * 1024))])
        status, _headers, page = client.request("POST", SUBMIT_PATH, body,
                                                {"Content-Type": ctype})
        assert status == 400 and "提交的内容没有完整收到".encode() in page
        assert page.rstrip().endswith(b"</html>")
        sub = second_opinion_submission(csrf_token(client.get(SUBMIT_PATH)[2]))
        assert client.post_multipart(SUBMIT_PATH, sub.fields, sub.files)[0] == 303


def test_a_well_formed_raw_body_is_still_accepted(app, rules) -> None:
    """The same raw bodies with ordinary parts store the request with both documents."""
    client = app.test_client()
    fields = text_fields(client, rules, f"/apply/{SERVICE}")
    resp = post_raw(client, f"/apply/{SERVICE}", fields,
                    [file_part(OTHER, "CT报告.pdf", PDF), file_part(SCAN, "病理报告.pdf", PDF),
                     file_part("doc_mri_report", "", b"")])  # a file input left empty
    assert resp.status_code == 303
    assert count(app, RequestDocument) == 2


def test_the_hotline_intake_refuses_a_malformed_part_at_its_field(app, rules, staff) -> None:
    path = f"/staff/intake/{SERVICE}"
    fields = text_fields(staff, rules, path)
    resp = post_raw(staff, path, fields, [AT_THE_FIELD["crlf in filename"]])
    assert resp.status_code == 422  # before: 303, the caller's document missing
    assert "重新选择" in field_error(resp.get_data(as_text=True), SCAN)
    assert count(app, ServiceRequest) == 0


def asked_for_documents(app: Flask, rules: Any, staff: FlaskClient) -> tuple[FlaskClient, str]:
    """An applicant's browser that submitted a request for which staff then asked for more."""
    applicant = app.test_client()
    fields = text_fields(applicant, rules, f"/apply/{SERVICE}")
    resp = post_raw(applicant, f"/apply/{SERVICE}", fields, [])
    assert resp.status_code == 303
    reference = resp.headers["Location"].rsplit("/", 1)[-1]
    assert post_event(staff, reference, "documents_requested", shanghai_today(),
                      message="请补充CT报告").status_code == 303
    return applicant, reference


def documents_fields(applicant: FlaskClient, reference: str) -> dict[str, str]:
    html = applicant.get(f"/status/{reference}").get_data(as_text=True)
    assert 'id="documents"' in html
    return {**form_tokens(applicant, f"/status/{reference}"), "document_type": "ct_report"}


def test_documents_after_submitting_refuse_a_malformed_part(app, rules, staff) -> None:
    applicant, reference = asked_for_documents(app, rules, staff)
    fields = documents_fields(applicant, reference)
    resp = post_raw(applicant, f"/status/{reference}/documents", fields,
                    [file_part("files", "ct.pdf", PDF),
                     file_part("files", "ct\r\n2.pdf", PDF)])
    assert resp.status_code == 422  # before: 303 with one of the two files
    assert "重新选择" in resp.get_data(as_text=True)
    assert count(app, RequestDocument) == 0


# -- 2. files opened for real -------------------------------------------------------------------
REFUSED_FILES = {
    "%PDF- then a web page": (b"%PDF-1.7\n<html><script>alert(1)</script></html>", "a.pdf",
                              "打不开"),
    "%PDF- then a program": (b"%PDF-" + MZ_EXE, "report.pdf", "打不开"),
    "a PDF without pages": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "a.pdf",
                            "打不开"),
    "a truncated PNG": (noisy_image("PNG")[:20_000], "photo.png", "打不开"),
    "a truncated JPEG": (noisy_image("JPEG")[:8_000], "photo.jpg", "打不开"),
    "JPEG magic then nothing": (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "photo.jpg", "打不开"),
    "an image bomb header": (png_claiming(100_000, 100_000), "scan.png", "像素太多"),
    "81 megapixels claimed": (png_claiming(9_000, 9_000), "scan.png", "像素太多"),
    "a PDF that needs a password": (encrypted_pdf("user-secret"), "a.pdf", "密码"),
    "a PNG named .pdf": (PNG, "report.pdf", "不一致"),
    "a PDF named .exe": (PDF, "report.exe", "不一致"),
    "a JPEG named .html": (JPEG, "photo.html", "不一致"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_FILES))
def test_a_file_that_does_not_open_is_refused_at_its_field(app, rules, case: str) -> None:
    data, filename, message = REFUSED_FILES[case]
    client = app.test_client()
    fields = text_fields(client, rules, f"/apply/{SERVICE}")
    resp = client.post(f"/apply/{SERVICE}", content_type="multipart/form-data", data={
        **fields, SCAN: (io.BytesIO(data), filename), OTHER: (io.BytesIO(PDF), "CT报告.pdf")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422, case  # before: 303 (all but the name checks: stored)
    assert message in field_error(html, SCAN), (case, field_error(html, SCAN))
    assert count(app, ServiceRequest) == 0
    assert 'value="张三"' in html and "已保留：CT报告.pdf" in html


ACCEPTED_FILES = {
    "a one-page PDF": (PDF, "病理报告.pdf", "application/pdf"),
    "a 2 MB PDF": (padded_pdf(2 * 1024 * 1024), "scan.PDF", "application/pdf"),
    "a PDF with only an owner password": (encrypted_pdf(""), "bank.pdf", "application/pdf"),
    "a PNG": (PNG, "photo.png", "image/png"),
    "a JPEG": (JPEG, "IMG_2026.jpeg", "image/jpeg"),
    "a photo JPEG": (noisy_image("JPEG"), "photo.JPG", "image/jpeg"),
    "a JPEG named without a suffix": (JPEG, "IMG_20261201", "image/jpeg"),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED_FILES))
def test_real_files_are_accepted(app, rules, case: str) -> None:
    data, filename, mime = ACCEPTED_FILES[case]
    client = app.test_client()
    fields = text_fields(client, rules, f"/apply/{SERVICE}")
    resp = client.post(f"/apply/{SERVICE}", content_type="multipart/form-data",
                       data={**fields, SCAN: (io.BytesIO(data), filename)})
    assert resp.status_code == 303, (case, resp.get_data(as_text=True)[:300])
    with app.extensions["forms_db"].read_session() as s:
        [doc] = list(s.scalars(select(RequestDocument)))
    assert doc.mime == mime


@pytest.mark.parametrize("case", ["%PDF- then a web page", "a truncated PNG",
                                  "an image bomb header"])
def test_the_hotline_intake_opens_files_too(app, rules, staff, case: str) -> None:
    data, filename, message = REFUSED_FILES[case]
    path = f"/staff/intake/{SERVICE}"
    resp = staff.post(path, content_type="multipart/form-data", data={
        **text_fields(staff, rules, path), SCAN: (io.BytesIO(data), filename)})
    assert resp.status_code == 422
    assert message in field_error(resp.get_data(as_text=True), SCAN)
    assert count(app, ServiceRequest) == 0


@pytest.mark.parametrize("case", ["%PDF- then a program", "a truncated JPEG",
                                  "a PDF that needs a password"])
def test_documents_after_submitting_are_opened_too(app, rules, staff, case: str) -> None:
    data, filename, message = REFUSED_FILES[case]
    applicant, reference = asked_for_documents(app, rules, staff)
    resp = applicant.post(f"/status/{reference}/documents", content_type="multipart/form-data",
                          data={**documents_fields(applicant, reference),
                                "files": [(io.BytesIO(PDF), "ct.pdf"),
                                          (io.BytesIO(data), filename)]})
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert count(app, RequestDocument) == 0
    ok = applicant.post(f"/status/{reference}/documents", content_type="multipart/form-data",
                        data={**documents_fields(applicant, reference),
                              "files": [(io.BytesIO(PDF), "ct.pdf"),
                                        (io.BytesIO(minimal_pdf(b"% page 2")), "ct2.pdf")]})
    assert ok.status_code == 303 and count(app, RequestDocument) == 2
