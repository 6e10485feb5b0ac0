"""The script format: every accepted form, and every bad input with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from duopod.errors import InputError
from duopod.script.parse import Overrides, parse_script

FRONT = "---\ntitle: 芯片之争\ndate: 2025-12-10\n---\n"


def write(folder: Path, text: str | bytes, name: str = "ep.md") -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


KNOWN = ("雷总", "董小姐")
"""The speakers of the workspace's voice profiles, as the CLI passes them."""


def parse(folder: Path, text: str | bytes, **kwargs) -> object:
    kwargs.setdefault("known_hosts", KNOWN)
    return parse_script(write(folder, text), workspace=folder, **kwargs)


def error(folder: Path, text: str | bytes, **kwargs) -> InputError:
    with pytest.raises(InputError) as caught:
        parse(folder, text, **kwargs)
    return caught.value


# ---------------------------------------------------------------- accepted forms


def test_name_lines_sections_and_joined_text(tmp_path: Path) -> None:
    script = parse(tmp_path, FRONT + "雷总\n早上好,\n欢迎收听。\n董小姐\n我是董小姐。\n\n## 背景\n雷总\n说说背景。\n")
    assert script.hosts == ("雷总", "董小姐")
    assert [t.speaker for t in script.turns] == ["雷总", "董小姐", "雷总"]
    assert script.turns[0].text == "早上好，欢迎收听。"
    assert script.turns[0].line == 5
    assert [s.title for s in script.sections] == ["背景"]
    assert [t.section for t in script.turns] == [None, None, 0]


def test_inline_ascii_and_fullwidth_colons(tmp_path: Path) -> None:
    script = parse(tmp_path, FRONT + "雷总: 第一句。\n董小姐：第二句。\n雷总\n第三句。\n董小姐：第四句。")
    assert [(t.speaker, t.text) for t in script.turns] == [
        ("雷总", "第一句。"), ("董小姐", "第二句。"), ("雷总", "第三句。"), ("董小姐", "第四句。"),
    ]


def test_bom_crlf_trailing_and_fullwidth_spaces(tmp_path: Path) -> None:
    text = "\ufeff" + FRONT.replace("\n", "\r\n") + "雷总  \r\n\u3000你好,世界!  \r\n董小姐\u3000\r\n好的?\r\n"
    script = parse(tmp_path, text)
    assert [t.text for t in script.turns] == ["你好，世界！", "好的？"]
    assert script.turns[1].line == 7


def test_ascii_punctuation_in_chinese_still_splits_sentences(tmp_path: Path) -> None:
    from duopod.text import split_sentences

    script = parse(tmp_path, FRONT + "雷总\n这说明了什么?说明算力就是战斗力!对吧.好\n董小姐\n嗯。")
    assert split_sentences(script.turns[0].text) == ["这说明了什么？", "说明算力就是战斗力！", "对吧。", "好"]


def test_english_terms_keep_their_punctuation(tmp_path: Path) -> None:
    script = parse(tmp_path, FRONT + "雷总\n要跑DeepSeek-R1 671B,至少8张H20, 时间是10:30。\n董小姐\n好。")
    assert script.turns[0].text == "要跑DeepSeek-R1 671B，至少8张H20，时间是10:30。"


def test_hosts_inferred_in_order_of_appearance(tmp_path: Path) -> None:
    text = FRONT + "董小姐\n一。\n雷总\n二。\n董小姐\n三。\n雷总\n四。\n"
    assert parse(tmp_path, text, known_hosts=()).hosts == ("董小姐", "雷总")


def test_recurring_names_need_no_profile_but_single_ones_do(tmp_path: Path) -> None:
    text = FRONT + "甲\n一。\n乙\n二。\n"
    assert parse(tmp_path, text, known_hosts=("甲", "乙")).hosts == ("甲", "乙")
    caught = error(tmp_path, text, known_hosts=())
    assert "text before the first host line" in caught.message or "hosts" in caught.message


def test_more_than_two_hosts(tmp_path: Path) -> None:
    text = "---\ntitle: t\ndate: 2025-01-02\nhosts: [A, B, C]\n---\nA\none.\nB\ntwo.\nC\nthree.\n"
    assert parse(tmp_path, text).hosts == ("A", "B", "C")


def test_command_line_metadata_for_a_bare_dialogue(tmp_path: Path) -> None:
    script = parse(tmp_path, "雷总\n你好。\n董小姐\n你好。\n雷总\n再见。\n董小姐\n再见。\n",
                   overrides=Overrides(title="算力之争", date="2025-12-10"))
    assert script.meta.title == "算力之争"
    assert script.meta.slug == "2025-12-10-suan-li-zhi-zheng"


def test_slug_is_ascii_pinyin_and_front_matter_overrides_it(tmp_path: Path) -> None:
    assert parse(tmp_path, FRONT + "雷总\n好。\n").meta.slug == "2025-12-10-xin-pian-zhi-zheng"
    custom = FRONT.replace("---\n", "---\nslug: h200-talk\n", 1)
    assert parse(tmp_path, custom + "雷总\n好。\n").meta.slug == "h200-talk"


def test_source_block_reads_the_article(tmp_path: Path) -> None:
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "a.txt").write_text("第一段。\n第二段。", encoding="utf-8")
    text = FRONT.replace("---\n", "", 1).replace(
        "---\n", "source:\n  provider: Reuters\n  url: https://example.com/a\n  file: sources/a.txt\n---\n")
    script = parse(tmp_path, "---\n" + text + "雷总\n好。\n")
    assert script.meta.source.provider == "Reuters"
    assert script.meta.source.text == "第一段。\n第二段。"


def test_encoding_flag_reads_gb18030(tmp_path: Path) -> None:
    data = (FRONT + "雷总\n你好。\n").encode("gb18030")
    assert parse(tmp_path, data, encoding="gb18030").turns[0].text == "你好。"


# ---------------------------------------------------------------- errors: file and line


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (FRONT + "\n\n", 5, "no dialogue"),
        (FRONT + "雷总\n董小姐\n你好。\n雷总\n好。\n", 5, "no text after it"),
        (FRONT + "雷总\n", 5, "no text after it"),
        (FRONT + "开场白。\n雷总\n你好。\n董小姐\n好。\n", 5, "text before the first host line"),
        ("---\ntitle: t\ndate: 2025-12-10\nhosts: [雷总, 董小姐]\n---\n雷总\n一。\n王总\n二。\n董小姐\n三。\n王总\n四。\n",
         8, "speaker '王总' is not in hosts"),
        ("---\ntitle: [unclosed\ndate: 2025-12-10\n---\n雷总\n好。\n", 3, "malformed front matter"),
        ("---\ndate: 2025-12-10\n---\n雷总\n好。\n", 1, "missing required field 'title'"),
        ("---\ntitle: t\n---\n雷总\n好。\n", 1, "missing required field 'date'"),
        ("---\ntitle: t\ndate: 2025-13-45\n---\n雷总\n好。\n", 3, "invalid date"),
        ("---\ntitle: t\ndate: 2025-12-10\ntitel: x\n---\n雷总\n好。\n", 4, "unknown front matter field 'titel'"),
        ("---\ntitle: t\ndate: 2025-12-10\n雷总\n好。\n", 1, "never closed"),
        ("---\ntitle: !!python/object/apply:os.system [ls]\ndate: 2025-12-10\n---\n雷总\n好。\n", 2, "YAML tag"),
        (FRONT.replace("---\n", "---\nslug: ../../etc\n", 1) + "雷总\n好。\n", 2, "invalid slug"),
    ],
)
def test_bad_scripts_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    caught = error(tmp_path, text)
    assert words in caught.message
    assert caught.line == line
    assert str(caught).startswith(f"{tmp_path / 'ep.md'}:{line}: ")


def test_ambiguous_hosts_ask_for_a_hosts_list(tmp_path: Path) -> None:
    text = FRONT + "雷总\n一。\n董小姐\n二。\n雷总\n三。\n董小姐\n四。\n好的\n五。\n好的\n雷总\n"
    caught = error(tmp_path, text)
    assert "hosts:" in caught.message and "好的" in caught.message


def test_source_file_missing_or_outside_the_workspace(tmp_path: Path) -> None:
    for value, words in (("sources/none.txt", "does not exist"),
                         ("../../etc/passwd", "outside the workspace"),
                         ("/etc/passwd", "relative to the script")):
        text = f"---\ntitle: t\ndate: 2025-12-10\nsource:\n  file: {value}\n---\n雷总\n好。\n"
        caught = error(tmp_path, text)
        assert words in caught.message
        assert caught.line == 5


def test_not_utf8_names_the_likely_encoding(tmp_path: Path) -> None:
    caught = error(tmp_path, (FRONT + "雷总\n你好，欢迎收听。\n").encode("gb18030"))
    assert "not UTF-8" in caught.message and "GBK/GB18030" in caught.message
    assert "--encoding gb18030" in caught.message
    assert caught.line == 2  # the title is the first Chinese, so the first bad byte


def test_empty_and_binary_files(tmp_path: Path) -> None:
    assert "empty" in error(tmp_path, b"").message
    assert "empty" in error(tmp_path, b"  \n\n").message
    assert "binary" in error(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").message
    assert "UTF-16" in error(tmp_path, "雷总\n好\n".encode("utf-16")).message


def test_invalid_command_line_date(tmp_path: Path) -> None:
    caught = error(tmp_path, "雷总\n好。\n董小姐\n好。\n雷总\n好。\n董小姐\n好。\n",
                   overrides=Overrides(title="t", date="12/10/2025"))
    assert "invalid --date" in caught.message


def test_per_script_pacing(tmp_path: Path) -> None:
    text = FRONT.replace("---\n", "---\npacing:\n  gap: 0.8\n  section_gap: 2.5\n", 1) + "雷总\n好。\n"
    assert parse(tmp_path, text).meta.pacing == {"gap": 0.8, "section_gap": 2.5}
    for bad, line in (("pacing:\n  gap: slow\n", 3), ("pacing:\n  gap: 9\n", 3),
                      ("pacing:\n  pause: 1\n", 3)):
        caught = error(tmp_path, FRONT.replace("---\n", "---\n" + bad, 1) + "雷总\n好。\n")
        assert caught.line == line and ("pacing" in caught.message or "'gap'" in caught.message)


def test_title_and_summary_get_full_width_punctuation(tmp_path: Path) -> None:
    text = FRONT.replace("title: 芯片之争", "title: 芯片之争,谁赢?\nsummary: 美国松口,谁在算账?")
    meta = parse(tmp_path, text + "雷总\n好。\n").meta
    assert (meta.title, meta.summary) == ("芯片之争，谁赢？", "美国松口，谁在算账？")
    assert meta.slug == "2025-12-10-xin-pian-zhi-zheng-shui-ying"


# ---------------------------------------------------------------- numbers and dates (issue 11)

BODY = "雷总\n好。\n董小姐\n好。\n"


@pytest.mark.parametrize("value", ['"²"', '"١٢"', "0", "-3", "100001", "1e3", "3.0", '"１２"'])
def test_episode_numbers_outside_ascii_1_to_100000_are_refused(tmp_path: Path, value: str
                                                               ) -> None:
    caught = error(tmp_path, FRONT.replace("---\n", f"---\nepisode: {value}\n", 1) + BODY)
    assert caught.line == 2 and "'episode' must be a whole number from 1 to 100000" in caught.message
    assert "\n" not in str(caught)


@pytest.mark.parametrize("value", ["1", "100000", '"42"'])
def test_episode_numbers_in_range_are_kept(tmp_path: Path, value: str) -> None:
    text = FRONT.replace("---\n", f"---\nepisode: {value}\n", 1) + BODY
    assert parse(tmp_path, text).meta.episode_number == int(value.strip('"'))


@pytest.mark.parametrize("value", ["2025W503", "2025-W50-3", "20251210", "2025-12-1",
                                   "2025-12-10T10:00", "２０２５-１２-１０"])
def test_dates_not_written_yyyy_mm_dd_are_refused(tmp_path: Path, value: str) -> None:
    caught = error(tmp_path, FRONT.replace("2025-12-10", value) + BODY)
    assert caught.line == 3 and "expected YYYY-MM-DD" in caught.message
    assert "\n" not in str(caught)


@pytest.mark.parametrize(("value", "words"), [("2025-02-30", "February 2025 has 28 days, not 30"),
                                              ("2025-13-01", "there is no month 13")])
def test_impossible_dates_say_what_is_wrong(tmp_path: Path, value: str, words: str) -> None:
    """A date in the right shape that the calendar lacks: the error says which part."""
    caught = error(tmp_path, FRONT.replace("2025-12-10", value) + BODY)
    assert caught.line == 3 and words in caught.message, caught.message


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "2201-01-01", "9999-12-31"])
def test_dates_in_unlikely_years_are_refused(tmp_path: Path, value: str) -> None:
    caught = error(tmp_path, FRONT.replace("2025-12-10", value) + BODY)
    assert caught.line == 3 and "outside the years 1900 to 2200" in caught.message


def test_source_dates_and_command_line_dates_are_checked_alike(tmp_path: Path) -> None:
    source = "source:\n  title: t\n  date: 2025W503\n"
    caught = error(tmp_path, FRONT.replace("---\n", "---\n" + source, 1) + BODY)
    assert caught.line == 4 and "invalid date '2025W503'" in caught.message
    caught = error(tmp_path, BODY, overrides=Overrides(title="t", date="9999-01-01"))
    assert "--date '9999-01-01' is outside" in caught.message
    assert parse(tmp_path, BODY, overrides=Overrides(title="t", date="1900-01-01")
                 ).meta.date.year == 1900


# ---------------------------------------------------------------- say exactly what the script says

HOSTS = "---\ntitle: t\ndate: 2025-12-10\nhosts: [雷总, 董小姐]\n---\n"


@pytest.mark.parametrize(
    ("name_line", "suggestion"),
    [
        ("董小姐姐", "董小姐"),        # a typo: one character too many
        ("董 小姐", "董小姐"),         # a space inside
        ("董小姐:", "董小姐"),         # a stray colon with nothing after it
        ("董小姐：", "董小姐"),
        ("雷 总", "雷总"),
        ("董小姐姐: 我是董小姐。", "董小姐"),  # inline, with a typo
    ],
)
def test_a_near_miss_host_line_is_an_error_suggesting_the_host(
    tmp_path: Path, name_line: str, suggestion: str
) -> None:
    text = HOSTS + "雷总\n早上好。\n" + name_line + "\n我是董小姐。\n董小姐\n好。\n"
    caught = error(tmp_path, text, known_hosts=())
    assert caught.line == 8
    assert f"did you mean {suggestion}?" in caught.message


def test_near_miss_in_latin_names_and_full_width_letters(tmp_path: Path) -> None:
    front = "---\ntitle: t\ndate: 2025-12-10\nhosts: [Alex, Sam]\n---\n"
    for name_line in ("Alexx", "alex", "\uff21\uff4c\uff45\uff58"):  # the last is full-width
        caught = error(tmp_path, front + f"Sam\nHi.\n{name_line}\nHello.\nAlex\nBye.\n")
        assert "did you mean Alex?" in caught.message and caught.line == 8


def test_a_recurring_typo_names_the_host_it_resembles(tmp_path: Path) -> None:
    text = HOSTS + "雷总\n一。\n董小姐姐\n二。\n雷总\n三。\n董小姐姐\n四。\n董小姐\n五。\n"
    caught = error(tmp_path, text)
    assert "'董小姐姐' is not in hosts" in caught.message and "did you mean 董小姐?" in caught.message


def test_dialogue_that_only_looks_short_is_still_dialogue(tmp_path: Path) -> None:
    text = HOSTS + "雷总\n好的\n我们开始\n董小姐\n雷总好！\n"
    assert [t.text for t in parse(tmp_path, text).turns] == ["好的我们开始", "雷总好！"]


def test_a_listed_host_with_no_words_is_an_error(tmp_path: Path) -> None:
    caught = error(tmp_path, HOSTS + "雷总\n一。\n雷总\n二。\n")
    assert "'董小姐' is listed in hosts but has no words" in caught.message
    assert caught.line == 4


def test_stage_directions_are_never_spoken(tmp_path: Path) -> None:
    text = (HOSTS + "[music]\n雷总\n（停顿）\n早上好(笑)。\n董小姐: 说正事（停顿2秒）。\n（叹气）\n"
            "雷总\n[laughs] 好吧。\n董小姐\n好(pause)。\n")
    turns = parse(tmp_path, text).turns
    assert [t.text for t in turns] == ["早上好。", "说正事。", "好吧。", "好。"]
    first = turns[0]
    assert [(d.kind, d.label, d.position) for d in first.directions] == [
        ("pause", "停顿", 0), ("laugh", "笑", 3)]
    assert first.pause_before() == 0.8 and first.pause_after() == 0.0
    assert turns[1].pause_after() == 2.0  # 叹气 is dropped, not kept
    assert [d.kind for d in turns[1].directions] == ["pause"]
    assert turns[2].directions[0].kind == "laugh"


def test_english_stage_directions(tmp_path: Path) -> None:
    front = "---\ntitle: t\ndate: 2025-12-10\nhosts: [Alex, Sam]\n---\n"
    text = front + "Alex\nThat's funny (laughs softly) anyway.\nSam\n(applause) Thanks. [pause 1.5s]\n"
    turns = parse(tmp_path, text).turns
    assert [t.text for t in turns] == ["That's funny anyway.", "Thanks."]
    assert turns[1].pause_after() == 1.5


def test_real_parentheses_stay(tmp_path: Path) -> None:
    line = "生成式(AI)用上了（H200）和(RTX 6000),在(2025)年，（音乐产业）也[注]一样。"
    turns = parse(tmp_path, HOSTS + f"雷总\n{line}\n董小姐\n好。\n").turns
    assert turns[0].text == ("生成式(AI)用上了（H200）和(RTX 6000)，在(2025)年，（音乐产业）也[注]一样。")
    assert turns[0].directions == ()


def test_a_turn_of_only_directions_is_an_error(tmp_path: Path) -> None:
    caught = error(tmp_path, HOSTS + "雷总\n（笑）\n董小姐\n好。\n")
    assert "only stage directions" in caught.message and caught.line == 6


def test_markdown_emphasis_is_not_read_as_symbols(tmp_path: Path) -> None:
    text = HOSTS + ("## **背景**\n雷总\n这是**重点**,也是*关键*,还有__底线__和`nvidia-smi`。\n"
                    "董小姐\nH20*2 比 C++ 快吗?2 * 3 = 6。\n")
    script = parse(tmp_path, text)
    assert script.sections[0].title == "背景"
    assert script.turns[0].text == "这是重点，也是关键，还有底线和nvidia-smi。"
    assert script.turns[1].text == "H20*2 比 C++ 快吗？2 * 3 = 6。"


def test_the_mix_honours_pause_directions_at_turn_edges(tmp_path: Path) -> None:
    import numpy as np

    from duopod.audio.decode import SAMPLE_RATE
    from duopod.mix.plan import plan_mix
    from duopod.show.workspace import AudioSettings, MixSettings
    from duopod.speech.model import RenderedTurn, SentenceSpan, Speech

    tone = (0.3 * np.sin(np.arange(SAMPLE_RATE) * 2 * np.pi * 220 / SAMPLE_RATE)).astype(np.float32)

    def starts(text: str) -> list[float]:
        script = parse(tmp_path, HOSTS + text)
        rendered = [RenderedTurn(t, Speech(tone.copy(), [SentenceSpan(t.text, 0.0, 1.0)]))
                    for t in script.turns]
        # a lone "二。" between 雷总's turns would be a backchannel: kept a turn here
        layout = plan_mix(script, rendered, AudioSettings(gap_jitter=0.0),
                          mix=MixSettings(backchannels=False))
        return [turn.start for turn in layout.timeline.turns]

    plain = starts("雷总\n一。\n董小姐\n二。\n雷总\n三。\n")
    paused = starts("雷总\n一。\n（停顿2秒）\n董小姐\n二。\n雷总\n[pause 1s] 三。\n")
    assert paused[1] - plain[1] == pytest.approx(2.0, abs=0.01)
    assert paused[2] - plain[2] == pytest.approx(3.0, abs=0.01)


def test_bold_name_lines_name_their_host_and_code_stays_verbatim(tmp_path: Path) -> None:
    text = HOSTS + "**雷总**\n调用`__init__`，2**10 是 1024。\n**董小姐**：好。\n"
    turns = parse(tmp_path, text).turns
    assert [(t.speaker, t.text) for t in turns] == [
        ("雷总", "调用__init__，2**10 是 1024。"), ("董小姐", "好。")]


def test_an_inferred_host_that_misspells_a_profile_is_an_error(tmp_path: Path) -> None:
    text = FRONT + "雷总\n一。\n董小姐姐\n二。\n雷总\n三。\n董小姐姐\n四。\n"
    caught = error(tmp_path, text)
    assert "did you mean 董小姐?" in caught.message and caught.line == 7


def test_laughs_are_marked_in_the_transcript(tmp_path: Path) -> None:
    import numpy as np

    from duopod.audio.decode import SAMPLE_RATE
    from duopod.mix.plan import plan_mix
    from duopod.mix.timeline import Timeline
    from duopod.show.workspace import AudioSettings
    from duopod.site.transcripts import to_vtt
    from duopod.speech.model import RenderedTurn, SentenceSpan, Speech
    from duopod.text import split_sentences

    tone = (0.3 * np.sin(np.arange(2 * SAMPLE_RATE) * 2 * np.pi * 220 / SAMPLE_RATE)).astype(np.float32)
    script = parse(tmp_path, HOSTS + "雷总\n（笑）你好。真好（大笑）。\n董小姐\n好。\n")
    rendered = [RenderedTurn(t, Speech(tone.copy(), [SentenceSpan(s, i * 1.0, i + 1.0)
                                                     for i, s in enumerate(split_sentences(t.text))]))
                for t in script.turns]
    timeline = plan_mix(script, rendered, AudioSettings()).timeline
    assert timeline.turns[0].laughs == ((-1, "笑"), (1, "大笑"))
    assert Timeline.from_dict(timeline.to_dict()).turns[0].laughs == timeline.turns[0].laughs
    vtt = to_vtt(timeline)
    assert "（笑）你好。" in vtt and "真好。（大笑）" in vtt


def test_a_pause_inside_a_turn_opens_it_between_sentences(tmp_path: Path) -> None:
    import numpy as np

    from duopod.audio.decode import SAMPLE_RATE
    from duopod.mix.plan import plan_mix
    from duopod.show.workspace import AudioSettings
    from duopod.speech.model import RenderedTurn, SentenceSpan, Speech
    from duopod.text import split_sentences

    tone = (0.3 * np.sin(np.arange(2 * SAMPLE_RATE) * 2 * np.pi * 220 / SAMPLE_RATE)).astype(np.float32)

    def layout(text: str):
        script = parse(tmp_path, HOSTS + text)
        rendered = [RenderedTurn(t, Speech(tone.copy(), [
            SentenceSpan(s, i * 1.0, i + 1.0) for i, s in enumerate(split_sentences(t.text))]))
            for t in script.turns]
        return plan_mix(script, rendered, AudioSettings(gap_jitter=0.0))

    plain = layout("雷总\n一。二。\n董小姐\n好。\n")
    paused = layout("雷总\n一。（停顿2秒）二。\n董小姐\n好。\n")
    first, plain_first = paused.timeline.turns[0], plain.timeline.turns[0]
    assert first.end - plain_first.end == pytest.approx(2.0, abs=0.01)
    assert first.sentences[0] == plain_first.sentences[0]
    assert first.sentences[1].start - plain_first.sentences[1].start == pytest.approx(2.0, abs=0.01)
    voices = [c for c in paused.clips if c.speech]
    assert len(voices) == 3 and voices[1].start - voices[0].end == pytest.approx(2 * SAMPLE_RATE, abs=2)
    assert paused.timeline.turns[1].start - plain.timeline.turns[1].start == pytest.approx(2.0, abs=0.01)
    audio = paused.render(0, paused.length)[:, 0]
    gap = audio[voices[0].end + 100 : voices[1].start - 100]
    assert np.abs(gap).max() == 0.0
