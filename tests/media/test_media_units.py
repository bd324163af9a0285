"""Units: pixel budgets from flags and the environment; the upload checks every transport calls."""
from __future__ import annotations

import os

import pytest

from nodegraph.run.media_limits import DEFAULT_IMAGE_PIXELS, DEFAULT_VIDEO_PIXELS, MediaLimits, megapixels, parse_pixels
from nodegraph.server import uploads
from nodegraph.server.uploads import UploadRefused


def test_pixel_counts_parse_as_counts_units_or_sizes():
    assert parse_pixels("67108864") == parse_pixels("8192x8192") == parse_pixels("8192×8192") == 8192 * 8192
    assert parse_pixels("50M") == 50_000_000 and parse_pixels("1.5k") == 1500 and parse_pixels("2G") == 2 * 10**9
    for bad in ("", "lots", "-5", "0", "12 MB", "3x"):
        with pytest.raises(ValueError):
            parse_pixels(bad)
    assert megapixels(67_108_864) == "67.1 M" and megapixels(744) == "744" and megapixels(31_104_000_000) == "31.10 G"


def test_limits_come_from_the_environment_and_flags_override():
    assert MediaLimits.from_env({}) == MediaLimits(DEFAULT_IMAGE_PIXELS, DEFAULT_VIDEO_PIXELS)
    env = {"NODEGRAPH_MAX_IMAGE_PIXELS": "4000x3000", "NODEGRAPH_MAX_VIDEO_PIXELS": "1G"}
    limits = MediaLimits.from_env(env)
    assert limits == MediaLimits(12_000_000, 10**9)
    assert limits.with_overrides(video_pixels=5) == MediaLimits(12_000_000, 5)
    with pytest.raises(ValueError, match="NODEGRAPH_MAX_VIDEO_PIXELS"):
        MediaLimits.from_env({"NODEGRAPH_MAX_VIDEO_PIXELS": "many"})


def test_sniff_tells_the_families_apart():
    cases = {b"\x89PNG\r\n\x1a\n....": "PNG", b"\xff\xd8\xff\xe0": "JPEG", b"RIFF\x00\x00\x00\x00WEBPVP8 ": "WebP",
             b"GIF89a...": "GIF", b"BM" + bytes(30): "BMP", b"\x00\x00\x00\x18ftypisom": "MP4",
             b"\x1a\x45\xdf\xa3\x00": "WebM", b"RIFF\x00\x00\x00\x00WAVEfmt ": None, b"#!/bin/sh\n": None}
    assert {data: uploads.sniff(data) for data in cases} == cases


@pytest.mark.parametrize("name,kind,stored", [
    ("cat.png", "image", "cat.png"), ("../../etc/x.PNG", "image", "x.png"), ("/abs/path/clip.mp4", "video", "clip.mp4"),
    ("C:\\Users\\me\\photo (1).jpg", "image", "photo_1.jpg"), (".hidden.png", "image", "hidden.png"),
    ("....png", "image", "upload.png"), ("ünïcödé.webp", "image", "n_c_d.webp"), ("a" * 300 + ".png", "image", "a" * 100 + ".png"),
])
def test_names_are_reduced_to_a_plain_file_name(name, kind, stored):
    assert uploads.sanitize_name(name, kind) == stored


@pytest.mark.parametrize("name,kind,says", [
    ("a\x00.png", "image", "NUL"), ("x" * 1100 + ".png", "image", "characters long"), ("dir/", "image", "folder"),
    ("..", "image", "folder"), ("noext", "image", "no file extension"), ("x.svg", "image", "must end in"),
    ("x.png", "lora", "not accepted"), ("x.mp4", "image", "must end in"),
])
def test_hostile_names_are_refused(name, kind, says):
    with pytest.raises(UploadRefused, match=says):
        uploads.sanitize_name(name, kind)


def test_size_and_content_checks():
    uploads.check_upload("a.png", "image", b"\x89PNG\r\n\x1a\nrest", max_bytes=100)
    with pytest.raises(UploadRefused, match="over the server's limit of 10 bytes"):
        uploads.check_upload("a.png", "image", b"\x89PNG\r\n\x1a\nrest", max_bytes=10)
    with pytest.raises(UploadRefused, match="not a JPEG file .* a PNG file"):
        uploads.check_content("a.jpeg", b"\x89PNG\r\n\x1a\nrest")
    with pytest.raises(UploadRefused, match="no known image or video format"):
        uploads.check_content("a.webm", b"<html>")
    with pytest.raises(UploadRefused, match="empty"):
        uploads.check_content("a.gif", b"")
    uploads.check_content("clip.mov", b"\x00\x00\x00\x14ftypqt  ")
    uploads.check_content("loop.mkv", b"\x1a\x45\xdf\xa3\x01")


def test_store_upload_stays_in_its_folder_and_leaves_nothing_when_refused(tmp_path):
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "taken.png").mkdir()
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"old")
    os.symlink(outside, folder / "link.png")
    assert uploads.store_upload(folder, "taken.png", b"A", overwrite=False) == "taken-1.png"
    with pytest.raises(UploadRefused, match="is a folder"):
        uploads.store_upload(folder, "taken.png", b"B", overwrite=True)
    assert uploads.store_upload(folder, "link.png", b"C", overwrite=True) == "link.png"
    assert outside.read_bytes() == b"old" and not (folder / "link.png").is_symlink()  # replaced, not written through
    for bad in ("../up.png", "/abs.png", ".."):
        with pytest.raises(UploadRefused):
            uploads.store_upload(folder, bad, b"D", overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["link.png", "taken-1.png", "taken.png"]
    assert not (tmp_path / "up.png").exists() and not list(folder.glob(".*"))
