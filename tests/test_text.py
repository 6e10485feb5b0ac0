from duopod.site.transcripts import wrap
from duopod.text import display_width, fix_cjk_punctuation, slugify, split_sentences


def test_sentences_keep_closing_quotes_and_ellipses() -> None:
    text = "他说：“好！”然后呢……没了。Hello world. It costs 3.5 dollars! OK"
    assert split_sentences(text) == [
        "他说：“好！”", "然后呢……", "没了。", "Hello world.", "It costs 3.5 dollars!", "OK",
    ]


def test_fullwidth_fix_only_touches_chinese_context() -> None:
    assert fix_cjk_punctuation("好,走吧!真的?") == "好，走吧！真的？"
    assert fix_cjk_punctuation("Hello, world! 10:30 1,000") == "Hello, world! 10:30 1,000"
    assert fix_cjk_punctuation("对吧.好 版本R1.0和3.5") == "对吧。好 版本R1.0和3.5"


def test_slugs_are_ascii_and_bounded() -> None:
    assert slugify("DeepSeek-R1 671B 来了") == "deepseek-r1-671b-lai-le"
    assert slugify("<script>alert(1)</script>../../x") == "script-alert-1-script-x"
    long = slugify("长" * 200, "2025-01-01")
    assert long.isascii() and len(long) <= 92
    assert slugify("🎙️🎙️") == "episode"


def test_wrap_counts_chinese_as_double_width_and_never_starts_with_punctuation() -> None:
    text = "这说明了什么？说明我们的军队非常清楚，未来战场上，算力就是战斗力。不管最后买没买到，这个意图本身。"
    lines = wrap(text, 40)
    assert "".join(lines) == text
    assert all(display_width(line) <= 40 for line in lines)
    assert not any(line[0] in "，。？" for line in lines)
    english = wrap("The Commerce Department told BI that the current administration has tightened", 30)
    assert all(len(line) <= 30 for line in english)
    assert " ".join(english).split() == "The Commerce Department told BI that the current administration has tightened".split()


def test_pack_joins_parts_under_a_limit_as_chinese_and_english_are_written() -> None:
    from duopod.text import join_text, pack

    assert join_text("Hello.", "World.") == "Hello. World."
    assert join_text("你好。", "H20很强。") == "你好。H20很强。"
    assert pack(["一二三。", "四五。", "六七八九。"], 7) == ["一二三。四五。", "六七八九。"]
    assert pack(["One.", "Two.", "Three."], 9) == ["One. Two.", "Three."]
    assert pack(["太长太长太长。"], 3) == ["太长太长太长。"]  # cut to size by the caller
    assert pack(["一。", "二。"], 5, lambda t: len(t.encode())) == ["一。", "二。"]
