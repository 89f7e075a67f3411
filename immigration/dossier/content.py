"""Is the content what it claims to be? Checked before anything becomes a file.

Magic bytes decide the type (never the client's word); an image must decode with Pillow within
a pixel limit (a decompression bomb is refused before its pixels are allocated); PDFs are
accepted for documents only and must end with an end-of-file marker (a truncated PDF does not).
Images are then re-encoded, which leaves EXIF (GPS, camera, time), ICC and text chunks behind.

Memory: the stream is read through a buffered, chunk-by-chunk reader; only an image's decoded
pixels are held whole, bounded by DOSSIER_MAX_IMAGE_PIXELS (decoding and re-encoding
cost about 5 bytes per pixel: ~80 MB at the 16 MP default).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import IO, Protocol

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from immigration.dossier.models import COUNTER_KINDS, MediaType

MAX_BYTES = 10 * 1024 * 1024

SIGNATURES: list[tuple[bytes, str]] = [
    (b"\xff\xd8\xff", MediaType.JPEG),
    (b"\x89PNG\r\n\x1a\n", MediaType.PNG),
    (b"%PDF-", MediaType.PDF),
]
PILLOW_FORMAT: dict[str, str] = {MediaType.JPEG: "JPEG", MediaType.PNG: "PNG"}
EXTENSIONS = {".jpg": MediaType.JPEG, ".jpeg": MediaType.JPEG, ".png": MediaType.PNG,
              ".pdf": MediaType.PDF}


class ContentRejected(Exception):
    """The content is refused; `code` is stable, `status` the HTTP status to answer."""

    def __init__(self, code: str, detail: str, status: int) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


def max_pixels() -> int:
    return int(getattr(settings, "DOSSIER_MAX_IMAGE_PIXELS", 16_000_000))


def sniff(head: bytes) -> str | None:
    for magic, media_type in SIGNATURES:
        if head.startswith(magic):
            return str(media_type)
    return None


def declared_media_type(*, filename: str = "", filetype: str = "") -> str:
    """What the client says the file is (its name or its `filetype`), or "" when it says
    nothing we know. Only compared with the content, never trusted."""
    if filetype in MediaType.values:
        return filetype
    dot = filename.rfind(".")
    return str(EXTENSIONS.get(filename[dot:].lower(), "")) if dot >= 0 else ""


def check_type(head: bytes, *, kind: str, declared: str = "") -> str:
    """The media type from the first bytes, refused when unknown, when it disagrees with what
    the client declared, or when a PDF is sent as a photo or signature."""
    media_type = sniff(head)
    if media_type is None:
        raise ContentRejected("unsupported_type",
                              _("Only JPEG and PNG images and PDF documents are accepted."), 415)
    if declared and declared != media_type:
        raise ContentRejected("type_mismatch",
                              _("The content does not match the declared file type."), 415)
    if media_type == MediaType.PDF and kind in COUNTER_KINDS:
        raise ContentRejected("pdf_not_allowed",
                              _("A photo or signature must be an image, not a PDF."), 415)
    return media_type


@dataclass
class Inspected:
    media_type: str
    image: Image.Image | None  # decoded, orientation applied; None for a PDF
    source: IO[bytes] | None  # a PDF's bytes, copied as they are


def inspect(stream: IO[bytes], *, size: int, kind: str, declared: str = "") -> Inspected:
    if size > MAX_BYTES:
        raise ContentRejected("too_large", _("Files are limited to 10 MB."), 413)
    if size == 0:
        raise ContentRejected("empty_file", _("The file is empty."), 422)
    stream.seek(0)
    media_type = check_type(stream.read(16), kind=kind, declared=declared)
    stream.seek(0)
    if media_type == MediaType.PDF:
        stream.seek(max(0, size - 1024))
        tail = stream.read(1024)
        stream.seek(0)
        if b"%%EOF" not in tail:
            raise ContentRejected("corrupt_file", _("The PDF is incomplete or damaged."), 422)
        return Inspected(media_type, None, stream)
    return Inspected(media_type, _decode(stream, media_type), None)


def _decode(stream: IO[bytes], media_type: str) -> Image.Image:
    limit = max_pixels()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice it; a bomb is an error here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream, formats=[PILLOW_FORMAT[media_type]])
            width, height = image.size
            if width * height > limit:
                raise ContentRejected(
                    "image_too_large",
                    _("The image has too many pixels (at most %(limit)d).") % {"limit": limit},
                    422)
            image.load()  # decodes every pixel: a truncated or corrupt file fails here
            # Keep the picture upright once EXIF is gone; in place, so no second copy.
            ImageOps.exif_transpose(image, in_place=True)
            return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ContentRejected(
            "image_too_large",
            _("The image has too many pixels (at most %(limit)d).") % {"limit": limit},
            422) from exc
    except ContentRejected:
        raise
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, EOFError,
            IndexError, TypeError, KeyError, ZeroDivisionError, MemoryError) as exc:
        # Pillow signals a damaged or truncated file with any of these.
        raise ContentRejected("corrupt_file", _("The image is incomplete or damaged."),
                              422) from exc


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def write_clean(inspected: Inspected, out: Sink) -> None:
    """Write the content to `out` as it will be stored: images re-encoded without metadata,
    PDFs copied."""
    if inspected.image is None:
        assert inspected.source is not None
        inspected.source.seek(0)
        while block := inspected.source.read(64 * 1024):
            out.write(block)
        return
    image = inspected.image
    if inspected.media_type == MediaType.JPEG:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=90)  # type: ignore[arg-type]
    else:
        image.save(out, format="PNG", optimize=False)  # type: ignore[arg-type]
