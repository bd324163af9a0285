"""A corpus of hostile media, built by the tests (small on disk): files whose headers declare
absurd sizes, frame rates or frame counts, truncated or corrupt data, empty images.

Each builder writes one file and returns its path. Headers are edited byte by byte where an
encoder would refuse to write the lie (an MP4 whose H.264 parameters declare 100000×100000, a
frame rate of a million per second), so each file is what an attacker can upload.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

# --- PNG -----------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(path: Path, width: int, height: int, rows: bytes | None = None, bit_depth: int = 1,
        color_type: int = 0) -> Path:
    """A PNG with any IHDR; ``rows`` (raw scanlines, filter bytes included) default to zeros of
    the declared size, so the file is tiny but the image is real."""
    if rows is None:
        row = 1 + (width * bit_depth * (3 if color_type == 2 else 1) + 7) // 8
        compressor = zlib.compressobj(9)
        zero_row = bytes(row)
        idat = b"".join(compressor.compress(zero_row) for _ in range(height)) + compressor.flush()
    else:
        idat = zlib.compress(rows, 9)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return path


def png_that_lies(path: Path, width: int = 3000, height: int = 3000) -> Path:
    """IHDR declares width×height; the data holds 4 rows of it."""
    row = bytes(1 + width * 3)
    return png(path, width, height, rows=row * 4, bit_depth=8, color_type=2)


def small_png(path: Path, width: int = 32, height: int = 24, shade: int = 90) -> Path:
    from PIL import Image
    Image.new("RGB", (width, height), (shade, 120, 200)).save(path)
    return path


# --- GIF -----------------------------------------------------------------------------------


def gif_of_many_frames(path: Path, frames: int = 10_000, width: int = 256, height: int = 256) -> Path:
    """An animated GIF of ``frames`` frames on a width×height screen; each frame redraws one
    pixel (so no encoder merges them), which keeps the file at ~20 bytes a frame."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0))  # global table of 2 colours
    out += b"\x00\x00\x00\xff\xff\xff"
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for i in range(frames):
        out += b"\x21\xf9\x04\x04" + struct.pack("<H", 4) + b"\x00\x00"  # 40 ms, do not dispose
        x, y = i % width, (i // width) % height
        out += b"\x2c" + struct.pack("<HHHHB", x, y, 1, 1, 0)
        out += b"\x02\x02\x44\x01\x00"  # LZW (min code size 2) of one pixel of colour (i & 1)
    out += b"\x3b"
    path.write_bytes(bytes(out))
    return path


# --- MP4 (H.264) ---------------------------------------------------------------------------


def mp4(path: Path, frames: int = 12, width: int = 64, height: int = 48, fps: int = 12, gop: int | None = None,
        faststart: bool = False, profile: str = "baseline") -> Path:
    """A small H.264 clip of a moving gradient (baseline profile: simple SPS to edit)."""
    import av
    import numpy as np
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30", "profile": profile,
                          **({"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"} if gop else {})}
        yy, xx = np.mgrid[0:height, 0:width]
        for i in range(frames):
            rgb = np.stack([(xx * 4 + i * 8) % 256, (yy * 4) % 256, np.full_like(xx, (i * 20) % 256)], -1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def mp4_without_frames(path: Path) -> Path:
    import av
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()  # the header and an empty track, no sample
    return path


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
_SKIP = {b"stsd": 8, b"avc1": 78}  # bytes of fields before a box's children


def _edit_box(data: bytes, path: list[bytes], edit) -> bytes:
    """``data`` (a run of boxes) with the box at ``path`` replaced by ``edit(payload)``, every
    enclosing box's size updated."""
    out, pos = bytearray(), 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        box = data[pos:pos + size]
        if kind == path[0]:
            if len(path) == 1:
                payload = edit(box[8:])
            else:
                skip = _SKIP.get(kind, 0)
                payload = box[8:8 + skip] + _edit_box(box[8 + skip:], path[1:], edit)
            box = struct.pack(">I4s", 8 + len(payload), kind) + payload
        out += box
        pos += size
    return bytes(out)


def _box_payload(data: bytes, path: list[bytes]) -> bytes:
    found: list[bytes] = []
    _edit_box(data, path, lambda payload: found.append(payload) or payload)
    return found[0]


class _Bits:
    def __init__(self, data: bytes):
        self.bits = "".join(f"{b:08b}" for b in data)
        self.pos = 0

    def u(self, n: int) -> int:
        value = int(self.bits[self.pos:self.pos + n], 2)
        self.pos += n
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bits[self.pos] == "0":
            zeros += 1
            self.pos += 1
        return self.u(zeros + 1) - 1

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


def _ue_bits(value: int) -> str:
    code = bin(value + 1)[2:]
    return "0" * (len(code) - 1) + code


def _unescape(nal: bytes) -> bytes:
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def _escape(rbsp: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _sps_with_size(sps: bytes, width: int, height: int) -> bytes:
    """An H.264 SPS NAL (baseline/main profile) declaring width×height (multiples of 16)."""
    rbsp = _unescape(sps[1:])
    bits = _Bits(rbsp)
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    bits.ue()  # sps id
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        raise ValueError("encode with profile baseline: high-profile SPS fields are not parsed here")
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.u(1), bits.se(), bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.u(1)  # gaps_in_frame_num_allowed
    head = bits.bits[:bits.pos]
    bits.ue(), bits.ue()  # the size, in macroblocks, replaced below
    rest = bits.bits[bits.pos:].rstrip("0")[:-1]  # without the stop bit and alignment
    new = head + _ue_bits(width // 16 - 1) + _ue_bits(height // 16 - 1) + rest + "1"
    new += "0" * (-len(new) % 8)
    return sps[:1] + _escape(bytes(int(new[i:i + 8], 2) for i in range(0, len(new), 8)))


def mp4_declaring_size(path: Path, width: int, height: int, frames: int = 6) -> Path:
    """An MP4 whose H.264 parameters (and sample entry, where 16 bits hold it) declare
    width×height; its frames are 64×48 of data."""
    mp4(path, frames=frames)
    data = path.read_bytes()
    avcc = _box_payload(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"avc1", b"avcC"])
    sps_len = struct.unpack(">H", avcc[6:8])[0]
    sps = _sps_with_size(avcc[8:8 + sps_len], width, height)
    new_avcc = avcc[:6] + struct.pack(">H", len(sps)) + sps + avcc[8 + sps_len:]

    def sample_entry(payload: bytes) -> bytes:  # avc1: width and height at bytes 24..28
        w, h = min(width, 0xFFFF), min(height, 0xFFFF)
        payload = payload[:24] + struct.pack(">HH", w, h) + payload[28:]
        return payload[:78] + _edit_box(payload[78:], [b"avcC"], lambda _old: new_avcc)

    moov_at = data.index(b"moov") - 4
    assert data.index(b"mdat") < moov_at, "the moov box must follow the media data (offsets stay valid)"
    head, moov = data[:moov_at], data[moov_at:]
    moov = _edit_box(moov, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"avc1"], sample_entry)
    path.write_bytes(head + moov)
    return path


def mp4_with_frame_rate(path: Path, fps: float) -> Path:
    """A 12 fps clip whose media header's time scale is changed to make it ``fps`` frames a second."""
    mp4(path, frames=6, fps=12)
    data = bytearray(path.read_bytes())
    at = data.index(b"mdhd") + 4  # version, flags, creation, modification, time scale
    version = data[at]
    field = at + 4 + (16 if version == 1 else 8)
    scale = struct.unpack(">I", data[field:field + 4])[0]
    data[field:field + 4] = struct.pack(">I", max(1, min(0xFFFFFFFF, round(scale * fps / 12))))
    path.write_bytes(bytes(data))
    return path


def truncated(path: Path, source: Path, keep: float = 0.6) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path


def garbage(path: Path, prefix: bytes = b"") -> Path:
    path.write_bytes(prefix + bytes((i * 37 + 11) % 256 for i in range(4000)))
    return path
