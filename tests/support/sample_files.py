"""Small files that really are what they say: uploads are opened for real (pypdf, Pillow)
before they are accepted, so a test's scan must be a PDF with a page and its photo an image
that decodes. Made in code, a few hundred bytes each."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def minimal_pdf(comment: bytes = b"") -> bytes:
    """A one-page PDF (catalog, page tree, blank page, a correct cross-reference table).
    `comment` goes after the header as PDF comment lines (each starting with `%`): a marker
    to find a file by, or padding to make it large, without changing what the PDF is."""
    if comment and not all(line.startswith(b"%") for line in comment.splitlines()):
        raise ValueError("comment lines must start with %")
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>"]
    out = bytearray(b"%PDF-1.4\n" + comment + (b"\n" if comment[-1:] not in (b"", b"\n")
                                               else b""))
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def padded_pdf(size: int) -> bytes:
    """A valid one-page PDF of at least `size` bytes (comment padding)."""
    lines = max(0, size - len(minimal_pdf())) // 65 + 1
    return minimal_pdf((b"%" + b"0" * 63 + b"\n") * lines)


def image_bytes(fmt: str, size: tuple[int, int] = (16, 12)) -> bytes:
    """A small solid-colour image in `fmt` ("PNG" or "JPEG")."""
    buf = io.BytesIO()
    Image.new("RGB", size, (180, 200, 220)).save(buf, fmt)
    return buf.getvalue()


def noisy_image(fmt: str, size: tuple[int, int] = (200, 150)) -> bytes:
    """An image that does not compress to nothing, so cutting it short really truncates its
    pixel data (a deterministic pattern, not random)."""
    pixels = bytes((x * 7 + y * 13 + (x * y) % 251) % 256
                   for y in range(size[1]) for x in range(size[0] * 3))
    buf = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buf, fmt)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` pixels (an image bomb's header) with a
    few bytes of pixel data: what a decompression bomb looks like before it is decoded."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + _png_chunk(b"IEND", b""))
