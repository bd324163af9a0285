"""What a file's first bytes say it is, for formats whose signature is not a fixed prefix."""
from __future__ import annotations

# ISO base media files (MP4, MOV, M4V) start with a box: 4 bytes of size, then its type.
ISO_FIRST_BOXES = (b"ftyp", b"moov", b"wide", b"free", b"mdat")


def is_iso_media(head: bytes) -> bool:
    """True when the first bytes of a file look like an ISO BMFF file (MP4, MOV, M4V)."""
    return len(head) >= 8 and head[4:8] in ISO_FIRST_BOXES
