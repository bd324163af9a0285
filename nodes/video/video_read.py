"""Reading clips for LoadVideo, streamed: decode what is kept, check budgets before decoding.

Three readers share one shape (``ClipReader``): ``header()`` reads what the file declares (frame
size, frame count, frame rate) without decoding a frame, and ``frames(selection)`` yields the kept
frames as uint8 RGB arrays [H, W, 3], in order, decoding no further than the last one kept:

- ``AvReader`` (MP4/WebM/MOV/MKV through PyAV): seeks to the key frame before ``start_frame``
  when the container has an index, decodes forward from there, converts only kept frames to RGB
  and stops after ``max_frames``;
- ``PillowReader`` (GIF, animated WebP): frame by frame (each frame is drawn over the last one,
  so skipped frames are decoded but not converted);
- ``FolderReader`` (a folder of images): only the kept files are opened.

``load_clip`` checks the header against the budgets (``nodegraph.run.media_limits``) and fills one
preallocated float tensor with the kept frames, so memory is the kept frames' size, whatever the
length of the file. Every problem is a ``VideoReadError`` worded to follow the file's name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol

from nodegraph.run.media_limits import IMAGE_ENV, IMAGE_FLAG, VIDEO_ENV, VIDEO_FLAG, MediaLimits, megapixels
from nodegraph_nodes.basic.image_read import ImageReadError, budget_hint, decode_rgb, open_image, rgb_to_tensor

FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MIN_FPS, MAX_FPS = 0.001, 1000.0  # a declared rate outside is a broken or hostile header
DECODE_THREADS = 4  # FFmpeg frame threads: faster long reads, and a bounded read-ahead (4 packets)


class VideoReadError(ValueError):
    pass


@dataclass(frozen=True)
class Selection:
    """Which frames LoadVideo keeps: ``start``, ``start + step``, ... at most ``limit`` (0: all)."""
    start: int = 0
    step: int = 1
    limit: int = 0

    def kept(self, total: int) -> int:
        """How many frames are kept of a clip of ``total`` frames."""
        n = max(0, -(-(total - self.start) // self.step))
        return min(n, self.limit) if self.limit else n

    def keeps(self, index: int) -> bool:
        return index >= self.start and (index - self.start) % self.step == 0

    def last(self) -> int | None:
        """Index of the last frame that can be kept (None: up to the end)."""
        return self.start + (self.limit - 1) * self.step if self.limit else None


@dataclass
class Header:
    width: int
    height: int
    frames: int | None  # frame count, when the file says or it can be counted without decoding
    exact: bool  # frames is a count, not an estimate from the duration
    fps: float | None  # None: the file gives none (LoadVideo's default applies)


@dataclass
class ReadStats:
    """What a read cost: frames out of the decoder and packets read from the container."""
    decoded: int = 0
    packets: int = 0
    first_index: int = 0  # index of the first decoded frame (after a seek: the key frame's)
    seeked: bool = False
    reached_end: bool = False


class ClipReader(Protocol):
    stats: ReadStats

    def header(self) -> Header: ...
    def frames(self, selection: Selection) -> Iterator[Any]: ...
    def fps(self) -> float | None: ...  # after reading: the rate (GIF/WebP: from the frames' durations)
    def close(self) -> None: ...


# --- PyAV containers ---------------------------------------------------------------------------
class AvReader:
    def __init__(self, source: str | Path | Any, max_pixels: int):
        import av
        self.av = av
        self.stats = ReadStats()
        try:
            # max_pixels: FFmpeg's decoders refuse larger frames, also while av.open probes the
            # streams (without it, an SPS declaring 16000×16000 costs 700 MB before any check).
            self.container = av.open(source if not isinstance(source, Path) else str(source),
                                     options={"max_pixels": str(max_pixels)})
        except (av.FFmpegError, OSError, ValueError, EOFError) as exc:
            raise VideoReadError(f"is not a readable video (corrupt or truncated?): {_one_line(exc)}") from None
        if not self.container.streams.video:
            self.container.close()
            raise VideoReadError("has no video stream with frames")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.stream.thread_count = min(DECODE_THREADS, os.cpu_count() or 1)
        self._header: Header | None = None

    def header(self) -> Header:
        if self._header is None:
            stream = self.stream
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else None
            if fps is not None and not (MIN_FPS <= fps <= MAX_FPS):
                raise VideoReadError(f"declares an absurd frame rate ({fps:g} fps; "
                                     f"{MIN_FPS:g} to {MAX_FPS:g} expected)")
            frames, exact = (stream.frames, True) if stream.frames > 0 else (self._estimate(fps), False)
            ctx = stream.codec_context
            self._header = Header(ctx.width or stream.width or 0, ctx.height or stream.height or 0,
                                  frames, exact, fps)
        return self._header

    def _estimate(self, fps: float | None) -> int | None:
        """Frames from the duration (WebM/MKV keep no count); None when there is no duration."""
        if not fps:
            return None
        if self.stream.duration and self.stream.time_base:
            seconds = float(self.stream.duration * self.stream.time_base)
        elif self.container.duration:
            seconds = self.container.duration / 1_000_000
        else:
            return None
        return max(1, round(seconds * fps))

    def fps(self) -> float | None:
        return self.header().fps

    def _index_of(self, frame) -> int | None:
        """A frame's index from its time stamp (constant-rate files: exact), for landing after a seek."""
        fps = self.header().fps
        if frame.pts is None or not fps or self.stream.time_base is None:
            return None
        start = self.stream.start_time or 0
        return round(float((frame.pts - start) * self.stream.time_base) * fps)

    def _decoded(self) -> Iterator[Any]:
        for packet in self.container.demux(self.stream):
            self.stats.packets += 1
            for frame in packet.decode():  # the last, empty packet flushes the decoder
                self.stats.decoded += 1
                yield frame
        self.stats.reached_end = True

    def frames(self, selection: Selection) -> Iterator[Any]:
        av = self.av
        try:
            yield from self._frames(selection)
        except VideoReadError:
            raise
        except (av.FFmpegError, OSError, ValueError, EOFError) as exc:
            raise VideoReadError(f"is corrupt or truncated after frame {self.stats.first_index + self.stats.decoded}"
                                 f": {_one_line(exc)}") from None

    def _frames(self, selection: Selection) -> Iterator[Any]:
        index, kept = 0, 0
        decoded = self._decoded()
        if selection.start > 0:
            decoded, index = self._seek(selection.start)
        for frame in decoded:
            if selection.keeps(index):
                yield frame.to_ndarray(format="rgb24")
                kept += 1
                if selection.limit and kept >= selection.limit:
                    return
            index += 1

    def _seek(self, target: int) -> tuple[Iterator[Any], int]:
        """(decoded frames from the key frame at or before ``target``, that frame's index); from
        the start when the file cannot seek or its time stamps do not say where it landed."""
        fps = self.header().fps
        if fps and self.stream.time_base:
            start = self.stream.start_time or 0
            offset = start + int(target / fps / float(self.stream.time_base))
            try:
                self.container.seek(offset, stream=self.stream, backward=True, any_frame=False)
            except (self.av.FFmpegError, OSError, ValueError):
                pass
            else:
                decoded = self._decoded()
                first = next(decoded, None)
                landed = self._index_of(first) if first is not None else None
                if landed is not None and landed <= target:
                    self.stats.seeked, self.stats.first_index = True, landed
                    self.stats.decoded = 1

                    def chained():
                        yield first
                        yield from decoded
                    return chained(), landed
            self.container.seek(0, stream=self.stream, backward=True)
            self.stats.reached_end, self.stats.decoded = False, 0
        return self._decoded(), 0

    def close(self) -> None:
        self.container.close()


# --- GIF and animated WebP through Pillow -----------------------------------------------------
class PillowReader:
    def __init__(self, path: Path, max_pixels: int):
        self.stats = ReadStats()
        self.durations: list[float] = []
        try:
            self.img = open_image(path, max_pixels)
        except ImageReadError as exc:
            raise VideoReadError(str(exc)) from None

    def header(self) -> Header:
        try:
            # GIF: counted by skipping each frame's data (no decoding); WebP: libwebp's demuxer.
            frames = getattr(self.img, "n_frames", 1)
        except (OSError, ValueError, EOFError, SyntaxError) as exc:
            raise VideoReadError(f"is not a readable {self.img.format} file: {_one_line(exc)}") from None
        return Header(*self.img.size, frames, True, None)

    def frames(self, selection: Selection) -> Iterator[Any]:
        from PIL import Image
        img, size = self.img, self.img.size
        last = self.header().frames - 1 if selection.last() is None else min(selection.last(), self.header().frames - 1)
        for index in range(last + 1):
            try:
                img.seek(index)  # every frame is decoded: each is drawn over the previous one
                img.load()  # (WebP: also what sets the frame's duration)
                self.stats.decoded += 1
                if img.size != size:  # Pillow grows the canvas for a frame reaching outside it
                    raise VideoReadError(f"frame {index} is {img.size[0]}×{img.size[1]}, the first "
                                         f"{size[0]}×{size[1]}: all frames must match")
                self.durations.append(img.info.get("duration") or 0)
                if selection.keeps(index):
                    yield decode_rgb(img)
            except (EOFError, Image.DecompressionBombError) as exc:
                raise VideoReadError(f"frame {index} cannot be read: {_one_line(exc)}") from None
            except ImageReadError as exc:
                raise VideoReadError(f"frame {index} {exc}") from None
            except (OSError, ValueError, SyntaxError) as exc:
                raise VideoReadError(f"frame {index} cannot be decoded (corrupt or truncated?): "
                                     f"{_one_line(exc)}") from None
        self.stats.reached_end = last == self.header().frames - 1

    def fps(self) -> float | None:
        mean_ms = sum(self.durations) / len(self.durations) if self.durations else 0
        fps = 1000.0 / mean_ms if mean_ms > 0 else 10.0
        if not (MIN_FPS <= fps <= MAX_FPS):
            raise VideoReadError(f"declares an absurd frame rate ({fps:g} fps from its frame durations)")
        return fps

    def close(self) -> None:
        self.img.close()


# --- a folder of images -------------------------------------------------------------------------
class FolderReader:
    def __init__(self, folder: Path, max_pixels: int):
        self.stats = ReadStats()
        self.max_pixels = max_pixels
        self.files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_EXTENSIONS)
        if not self.files:
            raise VideoReadError(f"folder has no image files ({', '.join(FRAME_EXTENSIONS)})")
        self.size = self._open(self.files[0], None).size

    def _open(self, file: Path, expected):
        try:
            img = open_image(file, self.max_pixels)
        except ImageReadError as exc:
            raise VideoReadError(f"frame {file.name!r} {exc}") from None
        if expected is not None and img.size != expected:
            img.close()
            raise VideoReadError(f"frame {file.name!r} is {img.size[0]}×{img.size[1]}, the first frame "
                                 f"{expected[0]}×{expected[1]}: all frames must match")
        return img

    def header(self) -> Header:
        return Header(*self.size, len(self.files), True, None)

    def frames(self, selection: Selection) -> Iterator[Any]:
        for index in range(selection.start, len(self.files), selection.step):
            file = self.files[index]
            with self._open(file, self.size) as img:  # only kept files are opened
                try:
                    rgb = decode_rgb(img)
                except ImageReadError as exc:
                    raise VideoReadError(f"frame {file.name!r} {exc}") from None
            self.stats.decoded += 1
            yield rgb
            if selection.limit and self.stats.decoded >= selection.limit:
                return
        self.stats.reached_end = True

    def fps(self) -> float | None:
        return None

    def close(self) -> None:
        pass


# --- kept frames into one tensor -------------------------------------------------------------
class KeptFrames:
    """The kept frames, each converted once into a preallocated float tensor [N, H, W, 3].

    ``capacity`` is the planned count (from the header); when the header gave none, or only an
    estimate that proves short, the tensor grows (a rare case: a WebM/MKV whose duration is off)."""

    def __init__(self, capacity: int, height: int, width: int):
        import torch
        self.torch = torch
        self.frames = torch.empty((max(1, capacity), height, width, 3), dtype=torch.float32)
        self.count = 0

    def add(self, rgb) -> None:
        if self.count == self.frames.shape[0]:
            grown = self.torch.empty((max(2, self.count * 2), *self.frames.shape[1:]), dtype=self.torch.float32)
            grown[:self.count] = self.frames
            self.frames = grown
        rgb_to_tensor(rgb, self.frames[self.count])
        self.count += 1

    def tensor(self):
        if self.count == self.frames.shape[0]:
            return self.frames
        return self.frames[:self.count].clone()  # a view would keep (and cache) the unused rows


# --- LoadVideo's read --------------------------------------------------------------------------
def open_reader(path: Path, limits: MediaLimits) -> ClipReader:
    if path.is_dir():
        return FolderReader(path, limits.image_pixels)
    if path.suffix.lower() in (".gif", ".webp"):
        return PillowReader(path, limits.image_pixels)
    return AvReader(path, limits.image_pixels)


def check_header(header: Header, selection: Selection, limits: MediaLimits) -> int | None:
    """The planned number of kept frames (None: unknown until decoded); VideoReadError when the
    header is empty, a frame is over the image budget or the kept frames over the video budget."""
    width, height = header.width, header.height
    if width <= 0 or height <= 0:
        raise VideoReadError(f"declares no frame size ({width}×{height})")
    pixels = width * height
    if pixels > limits.image_pixels:
        raise VideoReadError(f"has frames of {width}×{height} ({megapixels(pixels)} pixels), over the image "
                             f"budget of {megapixels(limits.image_pixels)} pixels "
                             f"({budget_hint(IMAGE_FLAG, IMAGE_ENV)})")
    if header.frames is None:
        return selection.limit or None
    if header.exact and header.frames == 0:
        raise VideoReadError("has no frames")
    planned = selection.kept(header.frames)
    if planned and planned * pixels > limits.video_pixels:
        raise over_video_budget(planned, width, height, limits, header.exact)
    return planned


def over_video_budget(frames: int, width: int, height: int, limits: MediaLimits, exact: bool = True):
    about = "" if exact else "about "
    return VideoReadError(f"would keep {about}{frames:,} frames of {width}×{height} "
                          f"({megapixels(frames * width * height)} pixels), over the video budget of "
                          f"{megapixels(limits.video_pixels)} pixels: set max_frames or every_nth, or "
                          f"{budget_hint(VIDEO_FLAG, VIDEO_ENV)}")


def read_clip(reader: ClipReader, selection: Selection, limits: MediaLimits) -> tuple[Any, float | None]:
    """(float frames [N, H, W, 3] in 0..1, the file's frame rate or None) of the kept frames."""
    header = reader.header()
    planned = check_header(header, selection, limits)
    if planned == 0:
        return None, reader.fps()
    width, height = header.width, header.height
    kept = KeptFrames(planned or 16, height, width)
    for rgb in reader.frames(selection):
        if rgb.shape != (height, width, 3):
            raise VideoReadError(f"frame {reader.stats.decoded - 1} is {rgb.shape[1]}×{rgb.shape[0]}, the header "
                                 f"says {width}×{height}")
        if header.exact and planned is not None and kept.count >= planned:
            raise VideoReadError(f"decodes more frames than its header declares ({header.frames})")
        if (kept.count + 1) * width * height > limits.video_pixels:  # only when the header had no count
            raise over_video_budget(kept.count + 1, width, height, limits)
        kept.add(rgb)
    if kept.count == 0:
        if header.frames is None or not header.exact or reader.stats.decoded == 0:
            raise VideoReadError("has no decodable frames (corrupt or truncated?)")
        return None, reader.fps()
    if header.exact and reader.stats.reached_end and kept.count < (planned or 0):
        raise VideoReadError(f"is truncated: its header declares {header.frames} frames, only "
                             f"{reader.stats.first_index + reader.stats.decoded} decode")
    return kept.tensor(), reader.fps()


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line, without file paths (the node names the file)."""
    text = getattr(exc, "strerror", None) or str(exc)  # FFmpegError: "Invalid data found ...", no errno
    text = " ".join(str(text).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
