"""``say --out`` somewhere it cannot write: one clear InputError before any speech is made,
never a stray traceback (issue 28, item 16)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from duopod.errors import InputError
from duopod.show.workspace import load_workspace
from duopod.speech.engines import get_engine
from duopod.speech.say import say_line


@pytest.mark.parametrize("where", ["/proc/x.wav", "/proc/x.mp3", "FOLDER"])
def test_say_out_where_it_cannot_write_is_one_clear_error(show: Path, where: str,
                                                           tmp_path: Path) -> None:
    target = Path(where)
    if where == "FOLDER":
        target = tmp_path / "a-folder.wav"
        target.mkdir()
    with pytest.raises(InputError, match=r"--out .*(folder|cannot write)") as caught:
        say_line(load_workspace(show), "好。", "雷总", get_engine("espeak"), target)
    assert "\n" not in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_folder_is_refused_before_speaking(show: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(InputError, match="cannot write"):
            say_line(load_workspace(show), "好。", "雷总", get_engine("espeak"), locked / "a.wav")
    finally:
        locked.chmod(0o700)
