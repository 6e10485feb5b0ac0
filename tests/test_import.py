"""duopod import: the real episode page, variations of it, bad pages, and a build of the
result."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import copy_show, run_cli

from duopod.errors import InputError
from duopod.script.importer import import_page
from duopod.script.parse import parse_script

SEEDS = Path("/work/shared/seeds")
PAGE = SEEDS / "000_ae8a00342d102ab7.txt"
RAW_ARTICLE = SEEDS / "003_83ca7ca21c746d23.txt"
needs_seeds = pytest.mark.skipif(not PAGE.is_file(), reason="the seed pages are not here")

TITLE = "芯片新规下的算力之争"


def page(
    *,
    hosts: tuple[str, ...] = ("雷总", "董小姐"),
    turns: list[str] | None = None,
    summary: bool = True,
    article: bool = True,
    blank_between: bool = False,
    movements: str = "Phenomenon+\nConflict+\nBackground+\nImpact+\nFuture+",
) -> str:
    """A page shaped like the seed: title twice, date+category, players, dialogue, summary,
    headline, 'Read original at', article, furniture."""
    turns = turns or [
        "早上好,欢迎收听。今天聊芯片。",
        "我是董小姐。先看看发生了什么。",
        "这件事的背景,要从2022年说起。",
        "所以核心矛盾就在这里:安全和生意。",
        "影响最直接的是资本市场。",
        "展望未来,竞争会更激烈。今天就到这里。",
    ]
    gap = "\n\n" if blank_between else "\n"
    dialogue = gap.join(f"{hosts[i % len(hosts)]}{gap}{text}" for i, text in enumerate(turns))
    parts = [TITLE, "", TITLE, "", "2025-12-10Technology", "--:--", "--:--", dialogue, ""]
    if summary:
        parts += ["## Chips and Rules **Report Provider:** Reuters **Author:** Jane Roe "
                  "**Date:** December 9, 2025 (Published Date) ### Key Findings: * **One:** "
                  "first. * **Two:** second.", ""]
    if article:
        parts += ["US to allow H200 sales to approved customers", "",
                  "Read original at Reuters", "", "First paragraph of the article.", "",
                  "Second paragraph.", ""]
    parts += ["TechRead next", "", "Analysis", "", movements, "", "Related Podcasts", ""]
    return "\n".join(parts)


def write(tmp_path: Path, text: str, name: str = "page.txt", newline: str = "\n",
          bom: bool = False) -> Path:
    path = tmp_path / name
    data = ("\ufeff" if bom else "") + text.replace("\n", newline)
    path.write_bytes(data.encode("utf-8"))
    return path


def reparse(result_path: Path) -> object:
    return parse_script(result_path, workspace=result_path.parent)


# ---------------------------------------------------------------- the real page


@needs_seeds
def test_the_seed_page_becomes_a_script_with_its_source(tmp_path: Path) -> None:
    result = import_page(PAGE, tmp_path / "scripts")
    assert result.turns == 30
    assert result.hosts == ("雷总", "董小姐")
    assert result.date.isoformat() == "2025-08-04" and result.category == "Technology"
    assert result.title == "解放军曾试图购买英伟达芯片用于AI服务器和机器狗,文件显示"
    assert [heading for heading, _turn in result.sections] == ["背景", "冲突", "影响", "未来"]
    reasons = {d.text: d.reason for d in result.dropped}
    assert reasons["--:--"] == "player placeholder"
    assert reasons[result.title] == "duplicate title"
    for furniture in ("ChinaRead next", "Analysis", "Phenomenon+", "Future+",
                      "Related Podcasts"):
        assert furniture in reasons
    assert [d.line for d in result.dropped][:3] == [3, 6, 7]
    assert any("Phenomenon" in note for note in result.notes)
    assert any("--url" in note for note in result.notes)

    script = reparse(result.script_path)
    assert len(script.turns) == 30 and script.hosts == ("雷总", "董小姐")
    assert [t.speaker for t in script.turns[:4]] == ["雷总", "董小姐", "雷总", "董小姐"]
    assert script.turns[-1].text == "我们明天再见。"
    source = script.meta.source
    assert source.provider == "Business Insider"
    assert source.title.startswith("China’s military tried to buy Nvidia chips")
    assert source.author == "Charles Rollet" and source.date.isoformat() == "2025-08-01"
    text = result.source_path.read_text(encoding="utf-8")
    article, summary = text.split("---- Report summary (from the episode page) ----")
    assert article.startswith("Nvidia CEO Jensen Huang.")
    assert "Huawei is not close" in article and "Read next" not in text
    assert summary.lstrip().startswith("## China's Military Sought Nvidia Chips")
    assert "\n### Key Findings and Conclusions:" in summary


@needs_seeds
def test_the_dialogue_is_kept_verbatim(tmp_path: Path) -> None:
    result = import_page(PAGE, tmp_path)
    page_lines = PAGE.read_text(encoding="utf-8").splitlines()
    body = result.script_path.read_text(encoding="utf-8").split("---\n", 2)[2]
    spoken = [line for line in body.splitlines() if line and not line.startswith("## ")]
    assert spoken == page_lines[7:67]


@needs_seeds
def test_url_option_gives_the_read_the_original_address(tmp_path: Path) -> None:
    result = import_page(PAGE, tmp_path, url="https://www.businessinsider.com/x")
    assert reparse(result.script_path).meta.source.url == "https://www.businessinsider.com/x"
    assert not any("--url" in note for note in result.notes)
    with pytest.raises(InputError, match="http"):
        import_page(PAGE, tmp_path / "other", url="javascript:alert(1)")


@needs_seeds
def test_existing_files_are_never_overwritten(tmp_path: Path) -> None:
    first = import_page(PAGE, tmp_path)
    before = first.script_path.read_bytes()
    with pytest.raises(InputError, match="already exists") as caught:
        import_page(PAGE, tmp_path)
    assert caught.value.path == first.script_path
    assert first.script_path.read_bytes() == before
    # only the source there: refused too, and no script appears
    first.script_path.unlink()
    with pytest.raises(InputError, match="already exists") as caught:
        import_page(PAGE, tmp_path)
    assert caught.value.path == first.source_path
    assert not first.script_path.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".import-")]


# ---------------------------------------------------------------- variations


@pytest.mark.parametrize("newline,bom", [("\n", False), ("\r\n", True), ("\r\n", False)])
def test_crlf_and_bom(tmp_path: Path, newline: str, bom: bool) -> None:
    result = import_page(write(tmp_path, page(), newline=newline, bom=bom), tmp_path / "out")
    assert result.turns == 6 and result.title == TITLE
    script = reparse(result.script_path)
    assert script.turns[0].text.startswith("早上好")
    assert "\r" not in result.script_path.read_text(encoding="utf-8")


def test_sections_only_where_the_dialogue_announces_them(tmp_path: Path) -> None:
    result = import_page(write(tmp_path, page()), tmp_path / "out")
    assert result.sections == (("背景", 3), ("冲突", 4), ("影响", 5), ("未来", 6))
    assert any("Phenomenon" in note for note in result.notes)
    script = reparse(result.script_path)
    assert [s.title for s in script.sections] == ["背景", "冲突", "影响", "未来"]


REWORDED = {  # every cue word of the seed's dialogue, said another way
    "历史背景和战略格局": "历史和战略格局",
    "这件事的背景，就是": "这件事要从头说起，就是",
    "这件事的背景,就是": "这件事要从头说起,就是",
    "核心矛盾": "核心问题",
    "这个矛盾非常突出": "这一点非常突出",
    "这两者之间的冲突": "这两者之间的拉扯",
    "影响最直接的，可能就是": "最直接的，可能就是",
    "影响最直接的,可能就是": "最直接的,可能就是",
    "产生实实在在的影响": "产生实实在在的作用",
    "影响是双重的": "意义是双重的",
    "展望未来，": "往后看，",
    "展望未来,": "往后看,",
}
PRODUCER_HEADINGS = [("背景", 8), ("冲突", 16), ("影响", 23), ("未来", 27)]
"""Where the seed's own dialogue announces its movements (and a producer puts headings)."""


def held_out_page(tmp_path: Path) -> Path:
    """The seed page with no movement announced by a cue word: a page of its format the
    cue words were never tuned on."""
    text = PAGE.read_text(encoding="utf-8")
    dialogue, tail = text.split("\n## ", 1)
    for old, new in REWORDED.items():
        dialogue = dialogue.replace(old, new)
    from duopod.script.movements import MOVEMENT_CUES

    for _heading, cues in MOVEMENT_CUES.values():
        assert not any(cue in dialogue.lower() for cue in cues)
    return write(tmp_path, dialogue + "\n## " + tail, name="held-out.txt")


@needs_seeds
def test_movements_no_turn_announces_are_placed_by_meaning(tmp_path: Path) -> None:
    """Issue 27.7: without cue words the page had one chapter; a producer puts four
    headings. Now each lands within a turn of the producer's, and the import says where
    and why."""
    result = import_page(held_out_page(tmp_path), tmp_path / "out")
    assert [h for h, _t in result.sections] == [h for h, _t in PRODUCER_HEADINGS]
    for (_h, turn), (_p, wanted) in zip(result.sections, PRODUCER_HEADINGS, strict=True):
        assert abs(turn - wanted) <= 1, result.sections
    assert all("by meaning: topic shift" in reason for reason in result.placed)
    assert any("'Phenomenon' opens the dialogue" in note for note in result.notes)
    script = reparse(result.script_path)
    assert [s.title for s in script.sections] == ["背景", "冲突", "影响", "未来"]
    shown = run_cli(tmp_path, "import", str(tmp_path / "held-out.txt"), "--out",
                    str(tmp_path / "again"))
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"## 冲突  \(before turn 16, line 38, 董小姐: .*by meaning: topic shift "
                     r"0\.\d\d, words .*一方面", shown.stdout), shown.stdout


def test_the_topic_shift_is_deepest_where_the_vocabulary_changes() -> None:
    from duopod.script.movements import topic_shifts

    chips = ["英伟达芯片出口管制收紧，芯片算力受限。", "芯片算力和出口管制是关键。",
             "管制之下，英伟达芯片销量下滑。"]
    weather = ["北京今天降温下雪，气温零下五度。", "下雪路滑，气温还会再降。",
               "降温之后，北京的雪会停。"]
    shifts = topic_shifts(chips + weather)
    assert shifts.index(max(shifts)) == 3 and max(shifts) == 1.0
    assert all(s < 0.5 for i, s in enumerate(shifts) if i != 3)


def test_movements_on_one_line(tmp_path: Path) -> None:
    text = page(movements="Phenomenon+ Conflict+ Background+ Impact+ Future+")
    result = import_page(write(tmp_path, text), tmp_path / "out")
    assert len(result.sections) == 4
    assert any(d.text.startswith("Phenomenon+ Conflict+") for d in result.dropped)


def test_extra_blank_lines(tmp_path: Path) -> None:
    text = page(blank_between=True).replace("\n\n", "\n\n\n")
    result = import_page(write(tmp_path, text), tmp_path / "out")
    assert result.turns == 6 and result.hosts == ("雷总", "董小姐")


def test_missing_summary(tmp_path: Path) -> None:
    result = import_page(write(tmp_path, page(summary=False)), tmp_path / "out")
    source = reparse(result.script_path).meta.source
    assert source.provider == "Reuters" and source.author is None
    assert "Report summary" not in result.source_path.read_text(encoding="utf-8")


def test_missing_article(tmp_path: Path) -> None:
    result = import_page(write(tmp_path, page(article=False)), tmp_path / "out")
    assert result.turns == 6
    source = reparse(result.script_path).meta.source
    assert source.provider == "Reuters" and source.author == "Jane Roe"  # from the summary
    assert source.text.startswith("---- Report summary")


def test_no_summary_and_no_article(tmp_path: Path) -> None:
    result = import_page(write(tmp_path, page(summary=False, article=False)), tmp_path / "o")
    assert result.source_path is None
    assert reparse(result.script_path).meta.source is None


def test_a_third_host(tmp_path: Path) -> None:
    hosts = ("雷总", "董小姐", "小王")
    result = import_page(write(tmp_path, page(hosts=hosts)), tmp_path / "out")
    assert result.hosts == hosts
    assert reparse(result.script_path).hosts == hosts


def test_an_english_page(tmp_path: Path) -> None:
    turns = ["Good morning, I'm Alex.", "And I'm Sam. Let's look at what happened.",
             "The background matters here: export rules since 2022.",
             "Looking ahead, expect more of this. That's all for today."]
    text = page(hosts=("Alex", "Sam"), turns=turns).replace(TITLE, "Chips and Rules")
    result = import_page(write(tmp_path, text), tmp_path / "out")
    assert result.hosts == ("Alex", "Sam") and result.turns == 4
    assert [h for h, _t in result.sections] == ["Background", "Future"]
    assert result.script_path.name == "2025-12-10-chips-and-rules.md"


def test_a_url_on_the_page_is_kept(tmp_path: Path) -> None:
    text = page().replace("Read original at Reuters",
                          "Read original at Reuters\nhttps://www.reuters.com/a-b")
    result = import_page(write(tmp_path, text), tmp_path / "out")
    assert reparse(result.script_path).meta.source.url == "https://www.reuters.com/a-b"


def test_related_podcast_titles_are_dropped_and_listed(tmp_path: Path) -> None:
    text = page() + "Another episode title\nYet another\n"
    result = import_page(write(tmp_path, text), tmp_path / "out")
    listed = {d.text: d.reason for d in result.dropped}
    assert listed["Another episode title"] == "listed under 'Related Podcasts'"
    assert "Another" not in result.source_path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- bad pages


def _refused(tmp_path: Path, text: str, match: str) -> InputError:
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=match) as caught:
        import_page(path, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.md"))
    assert str(caught.value).startswith(f"{path}:")
    return caught.value


def test_no_date_line(tmp_path: Path) -> None:
    error = _refused(tmp_path, page().replace("2025-12-10Technology\n", ""), "date line")
    assert error.line == 7  # the first line after the title that is not furniture


def test_an_impossible_date(tmp_path: Path) -> None:
    error = _refused(tmp_path, page().replace("2025-12-10", "2025-13-40"), "not a real date")
    assert error.line == 5


def test_a_host_line_without_text(tmp_path: Path) -> None:
    text = page().replace("董小姐\n所以核心矛盾", "董小姐\n雷总\n所以核心矛盾")
    _refused(tmp_path, text, "no text after it")


def test_text_after_a_blank_line_inside_a_turn(tmp_path: Path) -> None:
    text = page().replace("早上好,欢迎收听。今天聊芯片。", "早上好,欢迎收听。\n\n今天聊芯片。")
    error = _refused(tmp_path, text, "after a blank line")
    assert error.line == 11


def test_text_before_the_first_host(tmp_path: Path) -> None:
    text = page().replace("--:--\n雷总", "--:--\n本期节目由某某赞助。\n雷总")
    _refused(tmp_path, text, "host")


def test_no_read_original_line_after_the_summary(tmp_path: Path) -> None:
    text = page().replace("Read original at Reuters\n", "")
    _refused(tmp_path, text, "Read original")


def test_an_empty_page(tmp_path: Path) -> None:
    _refused(tmp_path, "\n\n", "empty")


# ---------------------------------------------------------------- the command


@pytest.mark.slow
@needs_seeds
def test_import_then_build_publishes_the_episode(tmp_path: Path) -> None:
    show = copy_show(tmp_path / "show")
    toml = show / "show.toml"  # this show has the right to reprint its sources whole
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'type = "episodic"', 'type = "episodic"\nsource_appendix = "full"'), encoding="utf-8")
    result = run_cli(show, "import", str(PAGE), "--url", "https://www.businessinsider.com/a")
    assert result.returncode == 0, result.stderr
    assert "dropped   line 3:" in result.stdout and "(duplicate title)" in result.stdout
    script = next(p for p in (show / "scripts").glob("2025-08-04-*.md"))
    again = run_cli(show, "import", str(PAGE))
    assert again.returncode == 2 and "already exists" in again.stderr
    built = run_cli(show, "build", str(script.relative_to(show)), "--engine", "espeak")
    assert built.returncode == 0, built.stderr
    folder = next(p for p in (show / "episodes").iterdir() if p.name.startswith("2025-08-04"))
    record = json.loads((folder / "episode.json").read_text(encoding="utf-8"))
    turns = record["timeline"]["turns"]
    assert len(turns) == 30
    assert {t["speaker"] for t in turns} == {"雷总", "董小姐"}
    html = (folder / "index.html").read_text(encoding="utf-8")
    assert "到Business Insider阅读原文" in html
    assert re.search(r'href="https://www\.businessinsider\.com/a"', html)
    assert "Huawei is not close" in html


# ---------------------------------------------------------------- the source appendix


@needs_seeds
def test_the_raw_article_reads_as_clean_chinese() -> None:
    from duopod.text.notes import clean_article

    raw = RAW_ARTICLE.read_text(encoding="utf-8")
    cleaned = clean_article(raw)
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", cleaned)  # no romanisation
    assert not re.search(r"[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", cleaned.replace("(AI)", "")
                         .replace("(GPU)", "").replace("(SuperCloud)", ""))
    assert "<br" not in cleaned and "br/>" not in cleaned
    for fragment in ("拔翌", "钡牵", "睋", "樵揂", "檫", "匀粨", "彝嘎", "?!", "！"):
        assert fragment not in cleaned, fragment
    assert not re.search(r"[\u4e00-\u9fff][?,:;!]|[?,:;!][\u4e00-\u9fff]", cleaned)
    for paragraph in cleaned.splitlines():
        marks = [c for c in paragraph if c in "“”"]
        assert marks == ["“", "”"] * (len(marks) // 2), paragraph  # balanced, never nested
    for restored in ("張春雨表示。“我預計中國領先", "因為該AI芯片", "因為這也需要",
                     "他們仍然擔心供應問題", "要求他們評估對H200", "的途徑。”并強調",
                     "和庫存。”換句話來說", "我對此并不確定。”"):
        assert restored in cleaned, restored
    assert cleaned.count("□") <= 2  # what no reading explains is marked, not guessed
    assert "(AI)" in cleaned and "(SuperCloud)" in cleaned and "(GPU)" in cleaned
    assert len(cleaned) > 0.8 * len(re.sub(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", "", raw))


def test_real_question_marks_are_not_taken_for_damage() -> None:
    from duopod.text.mojibake import repair_shifted_gbk

    for text in ("他说什么?A股跌了", "真的吗?我不信。", "价格?100元", "你好?!太好了",
                 "What?Nothing.", "芯片(AI)?好"):
        assert repair_shifted_gbk(text) == text


def test_a_run_read_one_byte_out_of_step_is_read_back() -> None:
    from duopod.text.mojibake import repair_shifted_gbk

    # the lost byte is found from what the rest of the text confirms: 我 and 預 occur
    context = "我們預計。我預計。"
    assert repair_shifted_gbk(context + "他表示?!拔翌A計") == context + "他表示。“我預計"


@needs_seeds
def test_the_english_article_gets_its_sentences_and_quotes_back() -> None:
    from duopod.script.importer import read_page
    from duopod.text.notes import clean_article

    cleaned = clean_article("\n\n".join(read_page(PAGE).article))
    assert "Jensen Huang. Chesnot/Getty Images" in cleaned
    assert 'its predecessor. "The Trump Administration' in cleaned
    assert '"support China\'s military." "This reversal' in cleaned
    assert 'on CNN. "It could' in cleaned
    paragraphs = cleaned.split("\n\n")
    starts = [p for p in paragraphs if p.startswith('"Buying a handful')]
    assert starts and not any(p.endswith('applications."') for p in paragraphs)
    assert clean_article("Use Node.js, e.g. here, in the U.S. today.") == \
        "Use Node.js, e.g. here, in the U.S. today."


def test_a_name_line_that_appears_once_is_not_merged_into_a_turn(tmp_path: Path) -> None:
    text = page().replace("雷总\n这件事的背景", "小王\n我来补充一句。\n雷总\n这件事的背景")
    error = _refused(tmp_path, text, "appears only once")
    assert "'小王'" in str(error)


def test_a_one_word_turn_is_still_a_turn(tmp_path: Path) -> None:
    text = page().replace("我是董小姐。先看看发生了什么。", "好的")
    result = import_page(write(tmp_path, text), tmp_path / "out")
    assert reparse(result.script_path).turns[1].text == "好的"


def test_a_turn_ending_in_read_next_stays_dialogue(tmp_path: Path) -> None:
    turns = ["Good morning, I'm Alex.", "I'm Sam. Here is what you should Read next",
             "The background: export rules.", "Looking ahead, more of this. Bye."]
    result = import_page(write(tmp_path, page(hosts=("Alex", "Sam"), turns=turns)),
                         tmp_path / "out")
    assert result.turns == 4
    assert reparse(result.script_path).turns[1].text.endswith("you should Read next")


def test_a_page_saved_in_gbk(tmp_path: Path) -> None:
    path = tmp_path / "page.txt"
    path.write_bytes(page().encode("gb18030"))
    with pytest.raises(InputError, match="not UTF-8"):
        import_page(path, tmp_path / "out")
    assert import_page(path, tmp_path / "out", encoding="gb18030").turns == 6


# ---------------------------------------------------------------- issue 28 item 13


def test_a_turn_opening_with_a_weibo_hashtag_stays_in_the_dialogue(tmp_path: Path) -> None:
    turns = ["早上好,欢迎收听。", "#英伟达# 今天又上了热搜。", "这件事的背景很长。",
             "影响最直接的是市场。"]
    result = import_page(write(tmp_path, page(turns=turns)), tmp_path / "out")
    body = result.script_path.read_text(encoding="utf-8")
    assert "#英伟达# 今天又上了热搜。" in body and "影响最直接的是市场。" in body


def test_a_device_or_a_huge_file_is_refused_quickly(tmp_path: Path) -> None:
    import time

    started = time.monotonic()
    with pytest.raises(InputError, match="not a regular file"):
        import_page(Path("/dev/zero"), tmp_path / "out")
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as out:
        out.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of nothing on disk
    with pytest.raises(InputError, match="larger than"):
        import_page(huge, tmp_path / "out")
    assert time.monotonic() - started < 2


def test_a_refusal_from_reading_the_script_back_names_the_page_line(tmp_path: Path) -> None:
    """Issue 28.13: the round-trip check named a temp file that was already gone; now the
    refusal names the page and the line of the turn that would not read back."""
    turns = ["早上好,欢迎收听。", "[笑]", "这件事的背景很长。", "影响最直接的是市场。"]
    path = write(tmp_path, page(turns=turns))
    with pytest.raises(InputError) as caught:
        import_page(path, tmp_path / "out")
    assert caught.value.path == path and caught.value.line == 10, str(caught.value)
    assert ".import-" not in str(caught.value)
    assert path.read_text("utf-8").splitlines()[9] == "董小姐"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.md"))
