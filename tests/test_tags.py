"""ID3 tagging meets a full disk (issue 11, defect 10): one clear error, no mutagen traceback."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import mutagen.id3._file
import pytest
from mutagen.id3 import ID3, TIT2

from duopod.errors import DuopodError
from duopod.mix.tags import save_tags


def tags() -> ID3:
    frames = ID3()
    frames.add(TIT2(encoding=3, text="芯片之争"))
    return frames


def test_a_full_disk_while_tagging_is_an_os_error_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = tmp_path / "episode.mp3"
    audio.write_bytes(b"\xff\xfb\x90\x00" * 1000)

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mutagen.id3._file, "insert_bytes", full)  # under mutagen's wrappers
    with pytest.raises(OSError) as caught:
        save_tags(tags(), audio)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(audio)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_read_only_file_is_an_os_error_and_other_failures_a_duopod_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "gone" / "episode.mp3"
    with pytest.raises(OSError) as caught:
        save_tags(tags(), missing)
    assert caught.value.errno == errno.ENOENT and caught.value.filename == str(missing)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise mutagen.MutagenError("unexpected")

    monkeypatch.setattr(ID3, "save", broken)
    with pytest.raises(DuopodError, match="cannot write the ID3 tags"):
        save_tags(tags(), tmp_path / "x.mp3")


def test_tags_still_save(tmp_path: Path) -> None:
    audio = tmp_path / "episode.mp3"
    audio.write_bytes(b"\xff\xfb\x90\x00" * 1000)
    save_tags(tags(), audio)
    assert str(ID3(audio)["TIT2"]) == "芯片之争"


FULL_DISK_CLI = """
import errno, sys
import mutagen.id3._file

def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")

mutagen.id3._file.insert_bytes = full
sys.argv = ["duopod", *sys.argv[1:]]
from duopod.cli.app import main
main()
"""


@pytest.mark.slow
def test_the_build_stops_with_one_line_and_publishes_nothing(show: Path) -> None:
    import subprocess
    import sys

    from conftest import ENGLISH

    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK_CLI, "build", f"scripts/{ENGLISH}", "--engine",
         "espeak"], cwd=show, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "mutagen" not in result.stderr
    assert "No space left on device" in result.stderr and ".mp3" in result.stderr
    assert not (show / "episodes" / "feed.xml").exists()
    assert not [p for p in (show / "episodes").glob("*/*.mp3")] if (show / "episodes").exists() else True


@pytest.mark.parametrize("codec, suffix", [("aac", ".m4a"), ("opus", ".opus")])
def test_renditions_carry_the_mp3s_tags_and_chapters(tmp_path: Path, codec: str,
                                                     suffix: str) -> None:
    """A listener who downloads the low-bandwidth copy sees the episode's title, show and
    chapters, as in the MP3 (issue 22's report: the .m4a was untagged)."""
    import subprocess

    import mutagen
    from mutagen.id3 import CHAP, CTOC, TALB, TLEN, CTOCFlags

    from duopod.audio.decode import ffmpeg_exe
    from duopod.mix.encode import encode_rendition

    mp3 = tmp_path / "episode.mp3"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=4", "-c:a", "libmp3lame", str(mp3)],
                   check=True)
    frames = tags()
    frames.add(TALB(encoding=3, text="芯闻两人谈"))
    frames.add(TLEN(encoding=3, text="4000"))
    frames.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                    child_element_ids=["chp0", "chp1"], sub_frames=[]))
    for number, (start, title) in enumerate([(0, "开场"), (2000, "谁在算账")]):
        frames.add(CHAP(element_id=f"chp{number}", start_time=start, end_time=start + 2000,
                        sub_frames=[TIT2(encoding=3, text=title)]))
    save_tags(frames, mp3)
    copy = tmp_path / f"episode{suffix}"
    encode_rendition(mp3, copy, codec, 24)
    read = mutagen.File(copy)
    assert read is not None and read.tags is not None
    title, album = ("\xa9nam", "\xa9alb") if codec == "aac" else ("title", "album")
    assert read.tags[title] == ["芯片之争"] and read.tags[album] == ["芯闻两人谈"]
    probe = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(copy)],
                           capture_output=True, text=True, check=False).stderr
    starts = [float(s) for s in re.findall(r"Chapter #0:\d+: start (\d+\.\d+)", probe)]
    # the AAC copy's timeline starts where the MP3's decoded audio does (its 25 ms
    # encoder delay is not in it); a second off would be a wrong chapter
    assert len(starts) == 2 and starts[0] == 0 and abs(starts[1] - 2.0) <= 0.03, probe
    assert "谁在算账" in probe and "TLEN" not in probe
