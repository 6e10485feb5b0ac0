"""The words duopod itself puts on pages, in notes and in chapter lists, one small catalogue
per language. An episode's own language picks its catalogue; anything not Chinese reads
English."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_ZH = {
    "opening": "开场",
    "show_notes": "节目简介",
    "key_points": "本期要点",
    "written_notes": "内容摘要（由语言模型 {model} 根据原文撰写）",
    "extracted_notes": "以下要点摘自对话原句（自动提取）",
    "keywords": "关键词",
    "chapters": "章节",
    "transcript": "文字稿",
    "source": "原文",
    "read_original": "阅读原文",
    "read_original_at": "到{provider}阅读原文",
    "related": "相关节目",
    "episode": "第{n}期",
    "season": "第{n}季",
    "trailer": "预告",
    "bonus": "特辑",
    "no_episodes": "还没有节目。",
    "draft": "草稿（不会出现在订阅源中）",
    "scheduled": "定时发布：{when}",
    "list_separator": "、",
    "hosts_joiner": "和",
    "versions": "其他语言版本",
    "guests": "嘉宾：{names}",
    "ai_disclosure": "本期使用了人工智能生成的内容",
    "ai_words": "文字由语言模型（{what}）撰写",
    "ai_notes": "摘要由语言模型（{what}）撰写",
    "ai_voices": "声音为合成语音（{what}）",
}
_EN = {
    "opening": "Opening",
    "show_notes": "Show notes",
    "key_points": "Key points",
    "written_notes": "Summary written by a language model ({model}) from the source article",
    "extracted_notes": "Key points below are sentences taken from the dialogue (extracted)",
    "keywords": "Keywords",
    "chapters": "Chapters",
    "transcript": "Transcript",
    "source": "Source article",
    "read_original": "Read the original",
    "read_original_at": "Read the original at {provider}",
    "related": "Related episodes",
    "episode": "Episode {n}",
    "season": "Season {n}",
    "trailer": "Trailer",
    "bonus": "Bonus",
    "no_episodes": "No episodes yet.",
    "draft": "Draft (never in the feed)",
    "scheduled": "Scheduled for {when}",
    "list_separator": ", ",
    "hosts_joiner": " & ",
    "versions": "In other languages",
    "guests": "Guest: {names}",
    "ai_disclosure": "This episode was made with AI-generated content",
    "ai_words": "words written by a language model ({what})",
    "ai_notes": "summary written by a language model ({what})",
    "ai_voices": "synthetic voices ({what})",
}
CATALOGUES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"zh": MappingProxyType(_ZH), "en": MappingProxyType(_EN)})


def is_chinese(language: str) -> bool:
    return language.lower().startswith(("zh", "cmn", "yue"))


def labels(language: str) -> Mapping[str, str]:
    """The catalogue for ``language`` (a tag like zh-CN or en-US)."""
    return CATALOGUES["zh" if is_chinese(language) else "en"]
