"""What opening an upload costs: `file_content.content_problem` (pypdf, Pillow) on typical
scans, against encrypting the same bytes with AES-256-GCM (`Crypto.encrypt_file`), which every
accepted upload goes through anyway, measured in this process on the same bytes.

Files, made here: a one-page PDF; a 2 MB PDF; a 12-megapixel phone photo (JPEG); an A4 page
scanned at 300 dpi (PNG, greyscale); a PNG whose header claims 2.5 billion pixels (refused
from its header). Prints per file the median time of each and the ratio check/encrypt.

    .venv/bin/python benchmarks/upload_checks.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from forms_app.applicant.file_content import content_problem  # noqa: E402
from forms_app.storage.crypto import Crypto, new_key  # noqa: E402
from tests.support.sample_files import minimal_pdf, padded_pdf, png_claiming  # noqa: E402


def photo_jpeg() -> bytes:
    """4000 x 3000 with noise over a gradient: compresses like a photo (a few MB)."""
    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    buf = io.BytesIO()
    Image.blend(noise, gradient, 0.5).save(buf, "JPEG", quality=88)
    return buf.getvalue()


def scan_png() -> bytes:
    """A4 at 300 dpi, white with light noise: compresses like a scanned page."""
    page = Image.effect_noise((2480, 3508), 8).point(lambda v: 255 if v > 120 else 0)
    buf = io.BytesIO()
    page.convert("L").save(buf, "PNG", optimize=False)
    return buf.getvalue()


def median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    crypto = Crypto(new_key(), "benchmark-hash-key")
    files = [("one-page PDF", minimal_pdf(), "pdf"), ("2 MB PDF", padded_pdf(2 << 20), "pdf"),
             ("12 MP photo JPEG", photo_jpeg(), "jpg"), ("A4 300 dpi scan PNG", scan_png(), "png"),
             ("PNG claiming 2.5 Gpx", png_claiming(50_000, 50_000), "png")]
    print(f"{'file':<22}{'bytes':>11}{'check ms':>11}{'encrypt ms':>12}{'ratio':>8}  verdict")
    for label, data, ext in files:
        verdict = content_problem(data, ext) or "accepted"
        check = median_s(lambda d=data, e=ext: content_problem(d, e), args.repeat)
        encrypt = median_s(lambda d=data: crypto.encrypt_file(d, "benchmark-name"), args.repeat)
        print(f"{label:<22}{len(data):>11,}{check * 1000:>11.2f}{encrypt * 1000:>12.2f}"
              f"{check / encrypt:>8.1f}  {verdict}")


if __name__ == "__main__":
    main()
