"""multipart/form-data parsed by python-multipart, with werkzeug's results and limits.

Werkzeug compiles two regular expressions per boundary (browsers send a fresh boundary with
every request) and scans the body with them: about 0.7 ms for a form with a 100 KB PDF.
python-multipart's state machine parses the same body in about 0.1 ms.

The two parsers accept different bodies (werkzeug also takes LF-only line breaks, a preamble,
padding after a boundary, header continuation lines...) and werkzeug has chunk-boundary quirks
of its own. Rather than re-implementing werkzeug's grammar, the fast path only finishes a body
it can prove werkzeug reads the same way: the body starts with the first boundary, every
occurrence of ``--boundary`` in it is a CRLF delimiter python-multipart also used, headers are
plain lines, nothing follows the closing boundary but a CRLF, and no limit is near. Everything
else (malformed, hostile, over a limit, merely unusual) is handed to werkzeug's own parser,
which re-reads the chunks read so far and then the rest of the stream: its answer, its
exceptions and its 413s are then werkzeug's by construction.
"""

from __future__ import annotations

import array
import collections
import functools
import logging
import tempfile
import typing as t

from flask import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from werkzeug.datastructures import FileStorage, Headers, MultiDict
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import File

if t.TYPE_CHECKING:
    from werkzeug.formparser import t_parse_result

# werkzeug reads multipart bodies in chunks of this size; the replay must hand werkzeug the
# very same chunks, and a chunk must never exceed what werkzeug asks for
CHUNK_SIZE = 64 * 1024
# python-multipart's own limits per part (it refuses more, and werkzeug then decides). They also
# keep werkzeug's buffer small: werkzeug answers 413 when buffered header bytes plus one chunk
# exceed max_form_memory_size, which these bounds rule out above _MIN_FORM_MEMORY.
_MAX_HEADER_COUNT = 8
_MAX_HEADER_SIZE = 4096 + 128
_MIN_FORM_MEMORY = CHUNK_SIZE + _MAX_HEADER_COUNT * (_MAX_HEADER_SIZE + 2) + 1024
# python-multipart's longest accepted boundary (RFC 2046 allows 70)
_MAX_BOUNDARY = 256
# raw chunks are kept in memory up to this size for a possible replay, then in a temporary
# file (werkzeug itself keeps up to 500 KB of each file in memory)
_RECORD_IN_MEMORY = 512 * 1024

# python-multipart logs a warning for each body it refuses; here a refusal only means
# "let werkzeug decide", so its warnings would be noise under hostile traffic. A logger outside
# logging's registry, so no logging configuration turns it back on.
_quiet = logging.Logger(f"{__name__}.python_multipart", logging.CRITICAL + 1)


class FastFormDataParser(FormDataParser):
    """werkzeug's FormDataParser whose multipart path runs on python-multipart."""

    def _parse_multipart(
        self,
        stream: t.IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> t_parse_result:
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        if not _fast_path_applies(boundary, self.max_form_memory_size):
            return super()._parse_multipart(stream, mimetype, content_length, options)

        recording = _Recording()
        try:
            fast = _FastMultipart(self, boundary, content_length)
            result = fast.run(stream, recording)
            if result is not None:
                return stream, result[0], result[1]
            fast.discard()
            replay = t.cast(t.IO[bytes], _Replay(recording, stream))
            _, form, files = super()._parse_multipart(replay, mimetype, content_length, options)
            return stream, form, files
        finally:
            recording.close()


def _fast_path_applies(boundary: bytes, max_form_memory_size: int | None) -> bool:
    if len(boundary) > _MAX_BOUNDARY or b"\r" in boundary or b"\n" in boundary:
        return False
    if max_form_memory_size is not None and max_form_memory_size < _MIN_FORM_MEMORY:
        return False
    # counting occurrences of --boundary is exact only if two of them cannot overlap, i.e. no
    # proper suffix is also a prefix; such a suffix starts with "-" like the pattern does
    pattern = b"--" + boundary
    return not any(pattern.startswith(pattern[i:])
                   for i in range(1, len(pattern)) if pattern[i] == 0x2D)


class _GiveUp(Exception):
    """The body is not one the fast path can vouch for: werkzeug decides."""


class _Counter:
    """Counts a pattern over a stream read in chunks (the pattern must not self-overlap)."""

    def __init__(self, pattern: bytes) -> None:
        self.pattern = pattern
        self.count = 0

    def feed(self, tail: bytes, chunk: bytes) -> None:
        keep = len(self.pattern) - 1
        # occurrences that straddle the previous chunk and this one
        self.count += (tail[-keep:] + chunk[:keep]).count(self.pattern) + chunk.count(self.pattern)


class _FastMultipart:
    def __init__(self, owner: FormDataParser, boundary: bytes, content_length: int | None):
        self.owner = owner
        self.boundary = boundary
        self.content_length = content_length
        # werkzeug's own helpers give the charset and the file container, as werkzeug would
        self.helper = MultiPartParser(
            stream_factory=owner.stream_factory,
            max_form_memory_size=owner.max_form_memory_size,
            max_form_parts=owner.max_form_parts,
            cls=owner.cls,
        )
        self.fields: list[tuple[str | None, str]] = []
        self.files: list[tuple[str | None, FileStorage]] = []
        self.open_containers: list[t.IO[bytes]] = []
        self.parts = 0
        self.ended = False
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._field = b""
        self._value = b""
        self._in_value = False
        self._lines: list[tuple[str, str]] = []
        self._headers: Headers | None = None
        self._name: str | None = None
        self._filename: str | None = None
        self._container: t.IO[bytes] | None = None
        self._chunks: list[bytes] = []
        self._size = 0

    # -- python-multipart callbacks -------------------------------------------------------
    def on_part_begin(self) -> None:
        self.parts += 1
        self._raw_headers = []
        self._field = self._value = b""
        self._in_value = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._raw_headers.append((self._field, self._value))
        self._field = self._value = b""

    def on_headers_finished(self) -> None:
        lines = []
        for field, value in self._raw_headers:
            # werkzeug splits header lines at a bare LF too; python-multipart keeps it in the value
            if b"\n" in value:
                raise _GiveUp
            try:
                lines.append((field.decode(), value.strip(b" \t").decode()))
            except UnicodeDecodeError:
                raise _GiveUp from None
        disposition = _first(lines, "content-disposition")
        if disposition is None:
            raise _GiveUp
        max_parts = self.owner.max_form_parts
        if max_parts is not None and self.parts > max_parts:
            raise _GiveUp
        self._lines = lines
        self._name, self._filename = _name_and_filename(disposition)
        self._chunks = []
        self._size = 0
        if self._filename is not None:
            event = File(name=t.cast(str, self._name), filename=self._filename,
                         headers=Headers(lines))
            self._container = self.helper.start_file_streaming(event, self.content_length)
            self._headers = event.headers
            self.open_containers.append(self._container)
        else:
            self._container = None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._container is not None:
            self._container.write(data[start:end])
            return
        self._size += end - start
        limit = self.owner.max_form_memory_size
        if limit is not None and self._size > limit:
            raise _GiveUp
        self._chunks.append(data[start:end])

    def on_part_end(self) -> None:
        if self._container is None:
            charset = _charset(_first(self._lines, "content-type"))
            self.fields.append((self._name, b"".join(self._chunks).decode(charset, "replace")))
        else:
            self._container.seek(0)
            storage = FileStorage(self._container, self._filename, self._name,
                                  headers=self._headers)
            self.files.append((self._name, storage))
        self._chunks = []

    def on_end(self) -> None:
        self.ended = True

    # -- driving ----------------------------------------------------------------------------
    def run(
        self, stream: t.IO[bytes], recording: _Recording
    ) -> tuple[MultiDict[str, t.Any], MultiDict[str, t.Any]] | None:
        """The parsed form and files, or None when werkzeug has to decide."""
        pattern = b"--" + self.boundary
        delimiters = _Counter(pattern)
        part_delimiters = _Counter(pattern + b"\r\n")
        try:
            parser = MultipartParser(
                self.boundary,
                t.cast(t.Any, {name: getattr(self, name) for name in _CALLBACKS}),
                max_header_count=_MAX_HEADER_COUNT,
                max_header_size=_MAX_HEADER_SIZE,
            )
        except FormParserError:
            return None
        parser.logger = _quiet
        # enough of the stream's end for the counters' seams and the closing delimiter
        keep = len(pattern) + 8
        tail = b""
        while True:
            chunk = stream.read(CHUNK_SIZE)
            if not chunk:
                break
            recording.add(chunk)
            # python-multipart skips anything before the first "-"; werkzeug reads it as a
            # preamble, with rules of its own
            if recording.size == len(chunk) and chunk[:1] != b"-":
                return None
            delimiters.feed(tail, chunk)
            part_delimiters.feed(tail, chunk)
            tail = (tail + chunk)[-keep:] if len(chunk) < keep else chunk[-keep:]
            try:
                parser.write(chunk)
            except (_GiveUp, FormParserError):
                return None
        parser.finalize()
        if not self._werkzeug_reads_the_same(tail, recording, delimiters, part_delimiters):
            return None
        return self.owner.cls(self.fields), self.owner.cls(self.files)

    def _werkzeug_reads_the_same(
        self, tail: bytes, recording: _Recording, delimiters: _Counter, part_delimiters: _Counter
    ) -> bool:
        if not self.ended or recording.size == 0:
            return False
        closing = b"--" + self.boundary + b"--"
        if tail.endswith(closing):
            epilogue = 0
        elif tail.endswith(closing + b"\r\n"):
            epilogue = 2
        else:
            return False
        # every --boundary is a delimiter python-multipart used: parts start with one followed
        # by CRLF (no padding), plus the closing one at the very end
        if delimiters.count != self.parts + 1 or part_delimiters.count != self.parts:
            return False
        # werkzeug quirk: when a read ends right after "\r\n--boundary-" of the closing
        # delimiter, werkzeug adds the "\r" to the last part's data
        split_at = recording.size - epilogue - 1
        return not (self.parts and split_at in recording.recent_ends)

    def discard(self) -> None:
        for container in self.open_containers:
            container.close()


def _first(lines: list[tuple[str, str]], name: str) -> str | None:
    """The first header of that name, as werkzeug's Headers lookup gives it (a field part needs
    no Headers object: building one costs more than the lookup)."""
    for key, value in lines:
        if key.lower() == name:
            return value
    return None


# each form sends the same Content-Disposition and Content-Type values with every submission
@functools.lru_cache(maxsize=512)
def _name_and_filename(disposition: str) -> tuple[str | None, str | None]:
    _, extra = parse_options_header(disposition)
    return extra.get("name"), extra.get("filename")


@functools.lru_cache(maxsize=64)
def _charset(content_type: str | None) -> str:
    headers = Headers() if content_type is None else Headers([("Content-Type", content_type)])
    return MultiPartParser().get_part_charset(headers)


_CALLBACKS = (
    "on_part_begin", "on_header_field", "on_header_value", "on_header_end",
    "on_headers_finished", "on_part_data", "on_part_end", "on_end",
)


class _Recording:
    """The raw chunks read so far, for werkzeug to re-read should the fast path give up. The
    read sizes are kept too (run-length encoded: a client trickling bytes makes many reads),
    since werkzeug's result can depend on where its reads end."""

    def __init__(self) -> None:
        self.size = 0
        # where the last few reads ended: all the closing-delimiter check needs
        self.recent_ends: collections.deque[int] = collections.deque(maxlen=4)
        self._chunks: list[bytes] = []
        self._lengths = array.array("Q")
        self._repeats = array.array("Q")
        self._file: t.IO[bytes] | None = None

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.recent_ends.append(self.size)
        if self._lengths and self._lengths[-1] == len(chunk):
            self._repeats[-1] += 1
        else:
            self._lengths.append(len(chunk))
            self._repeats.append(1)
        if self._file is not None:
            self._file.write(chunk)
            return
        self._chunks.append(chunk)
        if self.size > _RECORD_IN_MEMORY or len(self._chunks) > 4096:
            self._file = tempfile.TemporaryFile()
            self._file.write(b"".join(self._chunks))
            self._chunks = []

    def chunks(self) -> t.Iterator[bytes]:
        if self._file is None:
            yield from self._chunks
            return
        self._file.seek(0)
        for length, repeats in zip(self._lengths, self._repeats, strict=True):
            for _ in range(repeats):
                yield self._file.read(length)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class _Replay:
    """The recorded chunks one read at a time, then the rest of the original stream: werkzeug
    sees exactly the reads it would have made itself."""

    def __init__(self, recording: _Recording, stream: t.IO[bytes]) -> None:
        self._recorded = recording.chunks()
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._recorded is not None:
            chunk = next(self._recorded, None)
            if chunk is not None:
                return chunk
            self._recorded = None
        return self._stream.read(size)


class FormRequest(Request):
    """Flask's request, parsing multipart bodies with FastFormDataParser (Flask passes the
    app's MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS and MAX_CONTENT_LENGTH to it as to werkzeug's)."""

    form_data_parser_class = FastFormDataParser
