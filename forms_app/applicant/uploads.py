"""Checking the files an applicant uploads: recognised by their bytes (not their name) and
opened for real (`file_content`), named as what they are, within the size and count limits,
the required documents present. Messages go to the field they concern."""

from __future__ import annotations

import mimetypes
from typing import Any

from flask import current_app
from werkzeug.datastructures import FileStorage

from ..web.edge import has_control_chars
from .file_content import MAX_IMAGE_PIXELS, PASSWORD, TOO_MANY_PIXELS, content_problem
from .forms import RequestForm
from .kept_files import KeptFile

# (magic bytes, extension, MIME type)
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "pdf", "application/pdf"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
)


KIND_NAMES = {"pdf": "PDF 文件", "jpg": "JPG 图片", "png": "PNG 图片"}
# Python's own table only (not the system's mime.types): the same answer on every host
_NAME_TYPES = mimetypes.MimeTypes(filenames=())


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


def name_disagrees(filename: str, mime: str) -> bool:
    """True when the file's name says another known type than its content (a PDF named
    .jpg, a PNG named .exe). A name without a suffix, or with one no table knows (a phone's
    "IMG_2026", "2026.12.01"), says nothing and is accepted."""
    named, _encoding = _NAME_TYPES.guess_type(filename.replace("\\", "/").rsplit("/", 1)[-1],
                                              strict=False)
    return named is not None and named != mime


def file_problem(item: FileStorage, data: bytes, max_file: int) -> str | None:
    """The message for one uploaded file, or None when it is accepted."""
    shown = shown_name(item.filename or "")
    if has_control_chars(item.filename or "", allow_line_breaks=False):
        return "有一个文件的名字里有无法显示的字符，请给文件改个名字后重新选择。"
    if item.mimetype.startswith("multipart/"):
        # a part holding parts (multipart/mixed): not one file, and not sent by any browser
        return f"文件“{shown}”没有正确收到，请重新选择后再提交。"
    if len(data) > max_file:
        return f"文件“{shown}”超过{max_file // (1024 * 1024)}MB，请压缩或分成几个文件上传。"
    if not data:
        return f"文件“{shown}”是空的，请重新选择。"
    kind = sniff(data)
    if kind is None:
        return f"文件“{shown}”不是 PDF、JPG 或 PNG 格式（按文件内容判断），请换成这几种格式。"
    if name_disagrees(item.filename or "", kind[1]):
        return (f"文件“{shown}”的内容是{KIND_NAMES[kind[0]]}，和文件名的后缀不一致，"
                "请确认选对了文件后再上传。")
    problem = content_problem(data, kind[0])
    if problem == PASSWORD:
        return f"文件“{shown}”设有打开密码，我们打不开。请去掉密码后再上传，或换一个 PDF 或照片。"
    if problem == TOO_MANY_PIXELS:
        return (f"图片“{shown}”的像素太多（超过{MAX_IMAGE_PIXELS // 10_000}万像素），"
                "请缩小后再上传。")
    if problem is not None:
        return f"文件“{shown}”打不开（可能已损坏或不完整），请换一个 PDF 或照片再试。"
    return None


def check_uploads(f: RequestForm, *, require_documents: bool = True,
                  kept: dict[str, list[KeptFile]] | None = None
                  ) -> dict[str, list[tuple[bytes, str, str]]]:
    """Read each uploaded file, recognise its type by its bytes, enforce limits and (unless
    `require_documents` is off: a hotline request, whose records staff collect afterwards)
    the required documents. Adds messages to the fields; returns {document type: [(data, ext,
    mime)]}. Files `kept` from an earlier try of the same form stand in for a field where no
    new file was chosen. `f.accepted_names` gets the shown name of each accepted file."""
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
            f.accepted_names[doc_id] = [k.shown for k in kept[doc_id]]
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
    """Each file read (at most the size limit), its type recognised by its bytes and the file
    opened; a message at `field` for each one refused. Returns [(data, ext, mime)] of those
    accepted."""
    max_file = current_app.config["UPLOAD_MAX_FILE_BYTES"]
    checked: list[tuple[bytes, str, str]] = []
    for item in items:
        data = item.stream.read(max_file + 1)
        problem = file_problem(item, data, max_file)
        if problem is not None:
            field.errors = [*field.errors, problem]
            continue
        kind = sniff(data)
        assert kind is not None  # file_problem refuses what sniff does not know
        checked.append((data, kind[0], kind[1]))
    return checked
