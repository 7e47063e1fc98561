"""Opening an uploaded file for real before it is accepted.

The first bytes only say which reader to try: `%PDF-` followed by a web page or a program is
no PDF. A PDF must be read by pypdf and have at least one page (one whose password is needed
to open it cannot be read by staff either); a JPEG or PNG must decode in full with Pillow.
Work stays bounded: files are already within the size limit, the pixel count is checked from
the image's header before any pixel is decoded (a few bytes can claim billions of pixels),
and a JPEG is decoded at an eighth of its size (every byte of it is still read and checked,
in a sixty-fourth of the memory). pypdf and Pillow are imported by the first file checked, not
by every process that imports the app (a server worker, a CLI command, a test that sends none).
"""

from __future__ import annotations

import io
import logging

# a 64-megapixel photo is larger than any phone takes by default; at most 256 MB decoded (RGBA)
MAX_IMAGE_PIXELS = 64_000_000

UNREADABLE = "unreadable"
PASSWORD = "password"
TOO_MANY_PIXELS = "too_many_pixels"

_PILLOW_FORMATS = {"jpg": "JPEG", "png": "PNG"}
_DECODED_FORMATS = {"jpg": {"JPEG", "MPO"}, "png": {"PNG"}}  # MPO: a phone's multi-picture JPEG

# pypdf logs every repair it makes to an odd but readable file as a warning: noise for each
# scan from some office scanners, and nothing an operator can act on
logging.getLogger("pypdf").setLevel(logging.ERROR)


def content_problem(data: bytes, extension: str) -> str | None:
    """Why a file whose first bytes say `extension` ("pdf", "jpg", "png") cannot be used:
    UNREADABLE, PASSWORD or TOO_MANY_PIXELS; None when it opens."""
    if extension == "pdf":
        return _pdf_problem(data)
    return _image_problem(data, extension)


def _pdf_problem(data: bytes) -> str | None:
    from pypdf import PasswordType, PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return PASSWORD
        return None if len(reader.pages) >= 1 else UNREADABLE
    except Exception:  # noqa: BLE001 - pypdf raises what it met; each means "cannot open"
        return UNREADABLE


def _image_problem(data: bytes, extension: str) -> str | None:
    from PIL import Image

    fmt = _PILLOW_FORMATS[extension]
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            if image.format not in _DECODED_FORMATS[extension]:
                return UNREADABLE
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return TOO_MANY_PIXELS
            image.verify()  # structure and checksums; the image cannot be decoded after it
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            if fmt == "JPEG":
                image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except Image.DecompressionBombError:
        return TOO_MANY_PIXELS
    except Exception:  # noqa: BLE001 - truncated or corrupt data, whatever Pillow calls it
        return UNREADABLE
    return None
