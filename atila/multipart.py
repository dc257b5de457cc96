"""multipart/form-data parsing and uploaded file objects."""

from __future__ import annotations

import os
import shutil
import tempfile

from .errors import HttpError


class UploadedFile:
    """A file field of a multipart form: ``name``, ``size``, ``mimetype``, ``read()``, ``save()``.

    The content stays in memory until ``path`` (a temporary file) or ``save`` is asked for.
    """

    def __init__(self, name: str, data: bytes, mimetype: str, field: str) -> None:
        self.name = name
        self.field = field
        self.mimetype = mimetype
        self.size = len(data)
        self._data = data
        self._path: str | None = None

    def __repr__(self) -> str:
        return f"<UploadedFile {self.name!r} {self.size} bytes {self.mimetype}>"

    def read(self) -> bytes:
        return self._data

    @property
    def path(self) -> str:
        if self._path is None:
            fd, self._path = tempfile.mkstemp(prefix="atila-upload-")
            with os.fdopen(fd, "wb") as f:
                f.write(self._data)
        return self._path

    def save(self, into: str, name: str | None = None, mkdir: bool = False, dup: str = "u") -> str:
        """Write into directory ``into``; ``dup="u"`` picks a unique name, ``"o"`` overwrites."""
        if mkdir:
            os.makedirs(into, exist_ok=True)
        fname = os.path.basename(name or self.name or "upload")
        target = os.path.join(into, fname)
        if dup == "u" and os.path.exists(target):
            stem, ext = os.path.splitext(fname)
            i = 1
            while os.path.exists(target):
                target = os.path.join(into, f"{stem}.{i}{ext}")
                i += 1
        if self._path is not None:
            shutil.copyfile(self._path, target)
        else:
            with open(target, "wb") as f:
                f.write(self._data)
        return target

    def remove(self) -> None:
        if self._path is not None and os.path.exists(self._path):
            os.remove(self._path)
        self._path = None


def _params(value: str) -> tuple[str, dict[str, str]]:
    parts = value.split(";")
    main = parts[0].strip().lower()
    params: dict[str, str] = {}
    for p in parts[1:]:
        k, _, v = p.strip().partition("=")
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1]
        params[k.strip().lower()] = v
    return main, params


def parse_multipart(body: bytes, content_type: str) -> list[tuple[str, object]]:
    """Return (field, value) pairs; file fields become :class:`UploadedFile`."""
    _, params = _params(content_type)
    boundary = params.get("boundary")
    if not boundary:
        raise HttpError("400 Bad Request", "multipart body without boundary")
    delim = b"--" + boundary.encode("latin-1")
    pieces = body.split(delim)
    if len(pieces) < 2:
        raise HttpError("400 Bad Request", "malformed multipart body")
    out: list[tuple[str, object]] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        if piece.startswith(b"\r\n"):
            piece = piece[2:]
        head, sep, content = piece.partition(b"\r\n\r\n")
        if not sep:
            raise HttpError("400 Bad Request", "malformed multipart part")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers: dict[str, str] = {}
        for line in head.split(b"\r\n"):
            k, _, v = line.decode("utf-8", "replace").partition(":")
            headers[k.strip().lower()] = v.strip()
        disp, dparams = _params(headers.get("content-disposition", ""))
        field = dparams.get("name")
        if disp != "form-data" or field is None:
            continue
        if "filename" in dparams:
            out.append((field, UploadedFile(dparams["filename"], content,
                                            headers.get("content-type", "application/octet-stream"), field)))
        else:
            out.append((field, content.decode("utf-8", "replace")))
    return out
