"""The server's side of video: clip uploads are accepted and content-checked, clips are previewed."""
from __future__ import annotations

import pytest

from nodegraph.server import protocol


def test_video_uploads_are_accepted_by_name_and_checked_by_content(tmp_path):
    assert protocol.upload_name("../My Clip.MP4", "video") == "My_Clip.mp4"
    assert protocol.upload_name("loop.webm", "video") == "loop.webm"
    protocol.check_upload_bytes("clip.mp4", b"\x00\x00\x00\x20ftypisom" + b"\x00" * 24)
    protocol.check_upload_bytes("clip.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 24)
    protocol.check_upload_bytes("anim.gif", b"GIF89a" + b"\x00" * 24)
    for name, data in (("clip.mp4", b"\x89PNG\r\n\x1a\n" + b"\x00" * 24), ("clip.webm", b"GIF89a" + b"\x00" * 10),
                       ("anim.gif", b"\x00\x00\x00\x20ftypisom")):
        with pytest.raises(protocol.ProtocolError) as info:
            protocol.check_upload_bytes(name, data)
        assert info.value.code == "bad_upload"
    with pytest.raises(protocol.ProtocolError):
        protocol.upload_name("clip.exe", "video")


def test_clips_in_the_output_folder_get_preview_messages(tmp_path):
    out = tmp_path / "output"
    out.mkdir()
    (out / "a.mp4").write_bytes(b"x")
    (out / "a.mp4.json").write_text("{}")
    event = {"event": "executed", "node": "save", "job": "j", "outputs": [str(out / "a.mp4"), str(out / "a.mp4.json")]}
    (preview,) = protocol.preview_messages(event, out)
    assert preview["url"] == "/output/a.mp4" and preview["node"] == "save"
