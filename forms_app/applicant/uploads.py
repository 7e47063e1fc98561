"""Checking the files an applicant uploads: recognised by their bytes (not their name), within
the size and count limits, the required documents present. Messages go to the field they
concern."""

from __future__ import annotations

from typing import Any

from flask import current_app
from werkzeug.datastructures import FileStorage

from .forms import RequestForm
from .kept_files import KeptFile

# (magic bytes, extension, MIME type)
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "pdf", "application/pdf"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
)


def sniff(data: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) of a PDF, JPEG or PNG, judged by the first bytes; else None."""
    for magic, ext, mime in SIGNATURES:
        if data.startswith(magic):
            return ext, mime
    return None


def shown_name(filename: str) -> str:
    """A file's name as a message may show it: printable characters, at most the last 40."""
    name = "".join(c for c in filename if c.isprintable())
    return name[-40:] if len(name) > 40 else name


def check_uploads(f: RequestForm, *, require_documents: bool = True,
                  kept: dict[str, list[KeptFile]] | None = None
                  ) -> dict[str, list[tuple[bytes, str, str]]]:
    """Read each uploaded file, recognise its type by its bytes, enforce limits and (unless
    `require_documents` is off: a hotline request, whose records staff collect afterwards)
    the required documents. Adds messages to the fields; returns {document type: [(data, ext,
    mime)]}. Files `kept` from an earlier try of the same form stand in for a field where no
    new file was chosen. `f.accepted_names` gets the shown name of each accepted new file."""
    max_count = current_app.config["UPLOAD_MAX_FILES_PER_TYPE"]
    given = f.files()
    kept = kept or {}
    result: dict[str, list[tuple[bytes, str, str]]] = {}
    f.accepted_names = {}
    for name, label, required in f.uploads:
        field = getattr(f, name)
        doc_id = name.removeprefix("doc_")
        items = given.get(doc_id, [])
        if not items and kept.get(doc_id):
            result[doc_id] = [(k.data, k.extension, k.mime) for k in kept[doc_id]]
            continue
        if required and require_documents and not items:
            field.errors = [*field.errors, f"请上传{label}（必须上传）。"]
            continue
        if len(items) > max_count:
            field.errors = [*field.errors, f"{label}最多上传{max_count}个文件。"]
            continue
        checked = check_files(field, items)
        if checked and len(checked) == len(items):
            result[doc_id] = checked
            f.accepted_names[doc_id] = [shown_name(i.filename or "") for i in items]
    return result


def check_files(field: Any, items: list[FileStorage]) -> list[tuple[bytes, str, str]]:
    """Each file read (at most the size limit), its type recognised by its bytes; a message at
    `field` for each one refused. Returns [(data, ext, mime)] of those accepted."""
    max_file = current_app.config["UPLOAD_MAX_FILE_BYTES"]
    checked: list[tuple[bytes, str, str]] = []
    for item in items:
        data = item.stream.read(max_file + 1)
        shown = shown_name(item.filename or "")
        if len(data) > max_file:
            field.errors = [*field.errors, f"文件“{shown}”超过{max_file // (1024 * 1024)}MB，"
                            "请压缩或分成几个文件上传。"]
            continue
        if not data:
            field.errors = [*field.errors, f"文件“{shown}”是空的，请重新选择。"]
            continue
        kind = sniff(data)
        if kind is None:
            field.errors = [*field.errors, f"文件“{shown}”不是 PDF、JPG 或 PNG 格式"
                            "（按文件内容判断），请换成这几种格式。"]
            continue
        checked.append((data, kind[0], kind[1]))
    return checked
