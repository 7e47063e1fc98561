"""Files kept across a failed submit, so an applicant never chooses the same scans twice.

A form that fails validation (a field to correct, an expired page, a refusal) keeps the files
that passed their own checks, encrypted in the upload folder's `pending` area; the page lists
them by name with a hidden reference each, and the next submit of the form uses them for any
document field where nothing new was chosen. Which kept files a browser may use is held in its
signed session, so a reference is worth nothing to anyone else."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, session

from ..storage import get_crypto, upload_dir
from ..storage.pending import MAX_PER_SESSION, discard, keep, take

SESSION_KEY = "kept_files"


@dataclass(frozen=True)
class KeptFile:
    name: str          # stored name in the pending area
    document_type: str
    shown: str         # the file's name as the applicant chose it
    data: bytes
    extension: str
    mime: str


def _known() -> dict[str, dict[str, str]]:
    value = session.get(SESSION_KEY, {})
    return value if isinstance(value, dict) else {}


def kept_for(document_ids: list[str]) -> dict[str, list[KeptFile]]:
    """The kept files this form's submit refers to (hidden `kept_<doc>` fields), read back."""
    known = _known()
    found: dict[str, list[KeptFile]] = {}
    for doc_id in document_ids:
        for name in request.form.getlist(f"kept_{doc_id}"):
            info = known.get(name)
            if not info or info.get("doc") != doc_id:
                continue
            data = take(upload_dir(), get_crypto(), name)
            if data is not None:
                found.setdefault(doc_id, []).append(KeptFile(
                    name, doc_id, info.get("file", ""), data, info.get("ext", ""),
                    info.get("mime", "")))
    return found


def keep_for_retry(new: dict[str, list[tuple[bytes, str, str]]],
                   names: dict[str, list[str]],
                   already: dict[str, list[KeptFile]]) -> dict[str, list[tuple[str, str]]]:
    """Keep the newly accepted files; returns {document type: [(reference, shown name)]} of
    everything kept for this form, for the page to list."""
    known = _known()
    shown: dict[str, list[tuple[str, str]]] = {
        doc_id: [(k.name, k.shown) for k in files] for doc_id, files in already.items()}
    for doc_id, files in new.items():
        if doc_id in already:
            continue  # new files chosen for this field replace what was kept
        for (data, ext, mime), file_name in zip(files, names.get(doc_id, []), strict=False):
            if len(known) >= MAX_PER_SESSION:
                break
            stored = keep(upload_dir(), get_crypto(), data)
            known[stored] = {"doc": doc_id, "file": file_name, "ext": ext, "mime": mime}
            shown.setdefault(doc_id, []).append((stored, file_name))
    session[SESSION_KEY] = known
    return shown


def forget(kept: dict[str, list[KeptFile]]) -> None:
    """The request is stored (with its own copies): remove the kept files it used."""
    names = [k.name for files in kept.values() for k in files]
    discard(upload_dir(), names)
    known = _known()
    for name in names:
        known.pop(name, None)
    session[SESSION_KEY] = known
