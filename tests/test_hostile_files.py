"""Files and arguments of an unexpected shape (issue 35, items 4, 9 and 15): YAML alias
bombs and deep nesting in front matter, clip times that are not times, and the ``type:
ignore``s that hid a possible ``None``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import MANDARIN, run_cli

from duopod.clip import parse_time
from duopod.errors import InputError
from duopod.script import parse as parse_module

SRC = Path(__file__).resolve().parent.parent / "src" / "duopod"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs" in YAML: each anchor a list of ``width`` aliases of the one
    before, ``width ** levels`` nodes in a few hundred bytes."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines)


def bombed_script(show: Path, name: str = "bomb.md", front: str | None = None) -> Path:
    text = (show / "scripts" / MANDARIN).read_text(encoding="utf-8")
    head, _, rest = text.partition("\n---\n")
    path = show / "scripts" / name
    bomb = front if front is not None else "lexicon:\n  " + alias_bomb().replace("\n", "\n  ")
    path.write_text(f"{head}\n{bomb}\n---\n{rest}", encoding="utf-8")
    return path


def test_an_alias_bomb_is_refused_at_its_line(show: Path) -> None:
    path = bombed_script(show)
    assert len(alias_bomb().encode()) < 500
    done = run_cli(show, "check", str(path.relative_to(show)))
    assert done.returncode == 2, done.stderr
    line = path.read_text(encoding="utf-8").splitlines().index(
        "  " + alias_bomb().splitlines()[1]) + 1
    assert f"bomb.md:{line}: YAML alias *a0 is not allowed in front matter" in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_deep_front_matter_is_refused_not_a_recursion_error(show: Path) -> None:
    path = bombed_script(show, "deep.md", "lexicon: " + "[" * 5000 + "]" * 5000)
    done = run_cli(show, "check", str(path.relative_to(show)))
    assert done.returncode == 2 and "nests more than 16 levels" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_check_tag_visits_each_node_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """However the graph is made, a node reached many ways is checked once."""
    node = yaml.compose(alias_bomb(6, 6), Loader=yaml.SafeLoader)
    visits: list[yaml.Node] = []
    children = parse_module._children

    def counted(current: yaml.Node) -> list[yaml.Node]:
        visits.append(current)
        return children(current)

    monkeypatch.setattr(parse_module, "_children", counted)
    parse_module._check_tag(node, Path("x.md"), 2)
    assert len(visits) == len({id(v) for v in visits}) <= 64  # not 6 ** 6


def test_anchors_without_aliases_are_still_plain_data(show: Path) -> None:
    path = bombed_script(show, "anchor.md", "lexicon:\n  H20: &h H二十")
    done = run_cli(show, "check", str(path.relative_to(show)))
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- item 9: clip times


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "-5", "1:-5", "1:75", "1e3",
                                  "0:60:00", "1:2:3:4", "", " : "])
def test_clip_times_that_are_not_times_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="not a time"):
        parse_time(text)


def test_clip_times_that_are_times() -> None:
    assert [parse_time(t) for t in ("75", "75.5", "1:15", "0:01:15", "1:15.5", "90:00")] == [
        75, 75.5, 75, 75, 75.5, 5400]


def test_the_clip_command_refuses_nan_in_one_line(show: Path) -> None:
    done = run_cli(show, "clip", "any-episode", "--from", "nan")
    assert done.returncode == 2 and "not a time: 'nan'" in done.stderr, done.stderr


# ---------------------------------------------------------------- item 15


def test_no_type_ignore_hides_a_failed_match() -> None:
    """A regular expression's match may be None: code handles it (or is shaped so that it
    cannot be), rather than telling the type checker to look away."""
    hidden = [f"{path.relative_to(SRC)}:{number}"
              for path in sorted(SRC.rglob("*.py"))
              for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\.(match|search|fullmatch)\(.*type: ignore\[union-attr\]", line)]
    assert hidden == []
