"""Attached documents: checked by size and by their content (never by the name or the
browser's word), stored outside the static files under a random name, read back only
through the download view (docs/oversight.md)."""

from __future__ import annotations

import hashlib
import io
import secrets
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

#: What may be attached, told by content: PDF, images, Office Open XML and OpenDocument
#: text and spreadsheets, plain UTF-8 text.
KINDS = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "txt": "text/plain; charset=utf-8",
}
ALLOWED_TEXT = "PDF, PNG, JPEG, Word (docx), Excel (xlsx), OpenDocument (odt, ods) eller ren text"


class DocumentRefused(ValueError):
    pass


def document_dir() -> Path:
    return Path(settings.UTFALL_DOCUMENT_DIR)


def max_bytes() -> int:
    return int(settings.UTFALL_DOCUMENT_MAX_BYTES)


def _zip_kind(data: bytes) -> str | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if "mimetype" in names:
            mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
            return {KINDS["odt"]: "odt", KINDS["ods"]: "ods"}.get(mimetype)
        if "[Content_Types].xml" in names:
            if any(n.startswith("word/") for n in names):
                return "docx"
            if any(n.startswith("xl/") for n in names):
                return "xlsx"
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    return None


def sniff(data: bytes) -> str | None:
    """The kind of ``data`` by its content, or None when it is none of :data:`KINDS`."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "txt"


def check(upload: UploadedFile) -> tuple[bytes, str]:
    """The file's bytes and content type; DocumentRefused with a sentence for the user."""
    size = upload.size or 0
    if size == 0:
        raise DocumentRefused("Filen är tom.")
    if size > max_bytes():
        raise DocumentRefused(
            f"Filen är {size / 1024 / 1024:.1f} MB; största tillåtna storlek är {max_bytes() / 1024 / 1024:.0f} MB."
        )
    data = upload.read()
    kind = sniff(data)
    if kind is None:
        raise DocumentRefused(f"Filens innehåll är inte av en tillåten typ ({ALLOWED_TEXT}).")
    return data, KINDS[kind]


def store(data: bytes) -> tuple[str, str]:
    """Write ``data`` under a new random name; returns (stored name, SHA-256)."""
    folder = document_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = secrets.token_hex(16)
    path = folder / name
    with open(path, "xb") as fh:
        fh.write(data)
    path.chmod(0o600)
    return name, hashlib.sha256(data).hexdigest()


def path_of(stored_name: str) -> Path:
    if not stored_name.isalnum():
        raise FileNotFoundError(stored_name)
    return document_dir() / stored_name


def safe_filename(name: str) -> str:
    """The uploaded name without folders or characters a header could misread."""
    base = Path(name.replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '"\r\n;')
    return cleaned[:200] or "dokument"
