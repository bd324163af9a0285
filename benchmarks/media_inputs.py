"""Media inputs, before and after streaming: seconds and peak memory of LoadVideo and LoadImage.

Every measurement runs in a fresh process (peak: the process's VmHWM, its RSS high-water mark;
"added" is that minus the RSS after the imports). The previous implementation is taken from git history
(the commit before the readers were rewritten) and run side by side with the current one:

- 8 frames (max_frames 8) of a 40 s 1280×720 H.264 clip at 25 fps (target: <= 5 % of the old
  time, <= 10 % of the old peak memory);
- 16 frames of a 10-minute 1920×1080 clip (15,000 frames), from the start and from frame 9,000
  (a seek): new path only (the old one would need ~90 GB), its peak printed and the old one's
  projected from the frame count;
- LoadImage of a 15 KB PNG declaring 11000×11000 pixels (old: decoded; new: refused by the
  budget from its header) and of a real-sized 8000×6000 JPEG (both decode it).

Clips are generated cheaply: a 2-second segment (one key frame) encoded once and remuxed
end to end, so a 10-minute 1080p file takes seconds to make and ~2 MB on disk.

    python benchmarks/media_inputs.py               # everything (the old 720p read needs ~5.5 GB)
    python benchmarks/media_inputs.py --skip-old    # the new paths only
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


# --- inputs ------------------------------------------------------------------------------------
def make_clip(path: Path, seconds: float, width: int, height: int, fps: int = 25, segment: int = 50) -> Path:
    """An H.264 MP4 of ``seconds``: a checkerboard with a moving block, one key frame every
    ``segment`` frames (a segment encoded once, its packets repeated with shifted time stamps)."""
    import av
    import numpy as np
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30", "g": str(segment), "keyint_min": str(segment),
                          "sc_threshold": "0"}
        yy, xx = np.mgrid[0:height, 0:width]
        luma = ((xx // 64 + yy // 64) % 2 * 120 + 60).astype(np.uint8)
        chroma = np.full((height // 2 * width // 2,), 128, np.uint8)
        for i in range(segment):
            y = luma.copy()
            x0 = (i * 16) % (width - 64)
            y[height // 2 - 32:height // 2 + 32, x0:x0 + 64] = 250
            planes = np.concatenate([y.ravel(), chroma, chroma]).reshape(height * 3 // 2, width)
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as src, av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
        source = src.streams.video[0]
        target = dst.add_stream_from_template(source)
        packets = [p for p in src.demux(source) if p.dts is not None]
        step = round(segment / fps / source.time_base)
        for rep in range(round(seconds * fps / segment)):
            for p in packets:
                copy = av.Packet(bytes(p))
                copy.pts, copy.dts, copy.duration = p.pts + rep * step, p.dts + rep * step, p.duration
                copy.is_keyframe, copy.time_base, copy.stream = p.is_keyframe, p.time_base, target
                dst.mux(copy)
    return path


def make_bomb_png(path: Path, side: int = 11000) -> Path:
    """A 1-bit greyscale PNG of side×side zeros: ~15 KB declaring side² pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = bytes(1 + (side + 7) // 8)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def make_photo(path: Path, width: int = 8000, height: int = 6000) -> Path:
    import numpy as np
    from PIL import Image
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([(xx / width * 255), (yy / height * 255), 128 + 60 * np.sin(xx / 37) * np.cos(yy / 53)], -1)
    Image.fromarray(rgb.astype(np.uint8)).save(path, quality=90)
    return path


# --- the previous implementation, from git history -------------------------------------------
def old_revision() -> str:
    """The commit before the one that replaced the whole-file readers."""
    out = subprocess.run(["git", "log", "-n1", "--format=%H", "-S", "def _read_av(", "--",
                          "nodes/video/video_io.py"], cwd=REPO, capture_output=True, text=True, check=True)
    changed = out.stdout.strip()
    if not changed:
        sys.exit("cannot find the previous LoadVideo implementation in git history")
    return subprocess.run(["git", "rev-parse", f"{changed}^"], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.strip()


def load_old(rev: str, path: str, name: str) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout
    source = source.replace("from .values import", "from nodegraph_nodes.video.values import")
    module = types.ModuleType(name)
    module.__file__ = f"<{rev[:10]}:{path}>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


# --- one measurement, in a child process -------------------------------------------------------
def _status_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak) of this process. Not ru_maxrss: that one keeps the peak
    of the parent that forked this process (it survives exec on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(args) -> None:
    import torch  # noqa: F401 - imported before the baseline, as in a running server
    path = Path(args.path)
    if args.child == "video":
        import av  # noqa: F401
        from nodegraph.run.media_limits import MediaLimits
        from nodegraph_nodes.video.video_read import Selection, open_reader, read_clip
        from nodegraph_nodes.video.values import make_video, video_value
        old = load_old(args.rev, "nodes/video/video_io.py", "old_video_io") if args.impl == "old" else None
        base = _status_mib("VmRSS")
        start = time.perf_counter()
        if old is not None:  # the old LoadVideo.run, line for line
            frames, fps = old.read_video(path, default_fps=8.0)
            frames = frames[args.start::1]
            if args.max_frames:
                frames = frames[:args.max_frames]
            video = make_video(torch.from_numpy(frames.copy()).float() / 255.0, fps)
            decoded = None
        else:
            limits = MediaLimits()
            reader = open_reader(path, limits)
            tensor, fps = read_clip(reader, Selection(args.start, 1, args.max_frames), limits)
            reader.close()
            video = video_value(tensor, fps)
            decoded = reader.stats.decoded
        seconds = time.perf_counter() - start
        result = {"shape": list(video["frames"].shape), "decoded": decoded}
    else:
        from PIL import Image
        from nodegraph.run.media_limits import MediaLimits
        from nodegraph_nodes.basic.image import load_frames
        from nodegraph_nodes.basic.image_read import ImageReadError, check_frames, open_image
        old = load_old(args.rev, "nodes/basic/image.py", "old_image") if args.impl == "old" else None
        base = _status_mib("VmRSS")
        start = time.perf_counter()
        if old is not None:  # the old LoadImage.run: Image.open, then every frame converted
            with Image.open(path) as img:
                result = {"shape": list(old.load_frames(img)["image"].shape)}
        else:
            try:  # LoadImage.run: the header checked, then its frames (and mask)
                limits = MediaLimits()
                with open_image(path, limits.image_pixels) as img:
                    check_frames(img, limits)
                    result = {"shape": list(load_frames(img)["image"].shape)}
            except ImageReadError as exc:
                result = {"refused": str(exc)}
        seconds = time.perf_counter() - start
    peak = _status_mib("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "added_mib": peak - base, **result}))


def measure(what: str, impl: str, path: Path, rev: str, max_frames: int = 0, start: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--child", what, "--impl", impl, "--path", str(path), "--rev", rev,
           "--max-frames", str(max_frames), "--start", str(start)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(label: str, r: dict) -> str:
    if "error" in r:
        return f"  {label:<5} failed: {r['error']}"
    what = f"refused: {r['refused'][:70]}..." if "refused" in r else f"shape {r['shape']}"
    decoded = f", {r['decoded']} frames decoded" if r.get("decoded") is not None else ""
    return (f"  {label:<5} {r['seconds']:8.3f} s   peak {r['peak_mib']:8.0f} MiB (+{r['added_mib']:.0f} MiB "
            f"over the imports)   {what}{decoded}")


def _ratio(old: dict, new: dict, time_target: float | None, memory_target: float | None) -> str:
    if "error" in old or "error" in new:
        return "  ratio: n/a"
    t = new["seconds"] / old["seconds"]
    m = new["peak_mib"] / old["peak_mib"]
    ma = new["added_mib"] / old["added_mib"] if old["added_mib"] > 0 else float("nan")
    verdict = ""
    if time_target is not None:
        verdict = "   " + ("OK" if t <= time_target and m <= memory_target else "OVER") + \
                  f" (targets: time <= {time_target:.0%}, peak <= {memory_target:.0%})"
    return f"  new/old: time {t:.2%}, peak memory {m:.2%} (added memory {ma:.2%}){verdict}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-old", action="store_true", help="measure the new paths only")
    parser.add_argument("--seconds", type=float, default=40.0, help="length of the 720p clip (default 40)")
    parser.add_argument("--long-minutes", type=float, default=10.0, help="length of the 1080p clip (default 10)")
    parser.add_argument("--child", choices=["video", "image"], help=argparse.SUPPRESS)
    parser.add_argument("--impl", choices=["old", "new"], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--rev", default="", help=argparse.SUPPRESS)
    parser.add_argument("--max-frames", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    rev = old_revision()
    print(f"old implementation: {rev[:10]} (git history); new: the working tree")
    with tempfile.TemporaryDirectory(prefix="media-inputs-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        clip = make_clip(work / "clip720.mp4", args.seconds, 1280, 720)
        long = make_clip(work / "clip1080.mp4", args.long_minutes * 60, 1920, 1080)
        bomb = make_bomb_png(work / "bomb.png")
        photo = make_photo(work / "photo.jpg")
        print(f"inputs made in {time.perf_counter() - started:.1f} s: 720p {args.seconds:.0f} s clip "
              f"{clip.stat().st_size / 1e6:.2f} MB, 1080p {args.long_minutes:.0f} min clip "
              f"{long.stat().st_size / 1e6:.2f} MB, bomb PNG {bomb.stat().st_size / 1e3:.1f} KB, "
              f"8000x6000 JPEG {photo.stat().st_size / 1e6:.1f} MB")

        print(f"\nLoadVideo max_frames 8 of the {args.seconds:.0f} s 1280x720 clip ({round(args.seconds * 25)} frames):")
        new = measure("video", "new", clip, rev, max_frames=8)
        if not args.skip_old:
            old = measure("video", "old", clip, rev, max_frames=8)
            print(_row("old", old))
        print(_row("new", new))
        if not args.skip_old:
            print(_ratio(old, new, 0.05, 0.10))

        frames = round(args.long_minutes * 60 * 25)
        print(f"\nLoadVideo max_frames 16 of the {args.long_minutes:.0f} min 1920x1080 clip ({frames:,} frames):")
        print(_row("new", measure("video", "new", long, rev, max_frames=16)))
        print(_row("seek", measure("video", "new", long, rev, max_frames=16, start=frames * 3 // 5)) +
              f"  (start_frame {frames * 3 // 5:,})")
        print(f"  old: not run; it decodes every frame to RGB and stacks them: ~{frames * 1920 * 1080 * 3 * 2 / 2**30:.0f}"
              f" GiB at its peak")

        for label, path in (("15 KB PNG declaring 11000x11000", bomb), ("8000x6000 JPEG", photo)):
            print(f"\nLoadImage, {label}:")
            new = measure("image", "new", path, rev)
            if not args.skip_old:
                old = measure("image", "old", path, rev)
                print(_row("old", old))
            print(_row("new", new))
            if not args.skip_old:
                print(_ratio(old, new, None, None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
