"""The starter ``lexicon.toml`` ``duopod init`` writes: for a Mandarin show, the product
codes and English terms Mandarin tech shows say most, written the way hosts say them, so
the first episode does not have a voice spell "H20" or guess at "DeepSeek". Every entry is
a start to listen to (``duopod say``) and change; ``duopod check`` suggests more."""

from __future__ import annotations

_HEADER = '''# lexicon.toml: written form = what the speech engine is asked to say.
# Only what is *heard* changes: transcripts, pages and notes keep the script's words.
# Latin words match whole ("H20" is not found inside "H200"); the longest match wins.
# Hear an entry without building: duopod say "H20和H200不是一回事。" --host {host}
# `duopod check` lists the Latin-letter words of a script that no entry covers.
'''

_ZH = '''
"DeepSeek" = "深度求索"            # every language, every engine

[zh-CN]                            # only in Mandarin episodes
"H20" = "H二十"
"H100" = "H一百"
"H200" = "H两百"
"H800" = "H八百"
"A100" = "A一百"
"B200" = "B两百"
"GB200" = "GB两百"
"AI" = "A I"
"GPU" = "G P U"
"CPU" = "C P U"
"HBM" = "H B M"
"AGI" = "A G I"
"ChatGPT" = "Chat G P T"
"OpenAI" = "Open A I"
"NVIDIA" = "英伟达"
"Nvidia" = "英伟达"
"TSMC" = "台积电"
"CUDA" = "酷达"
'''

_EN = '''
[en-US]                            # only in English episodes
"GPU" = "G P U"
"HBM" = "H B M"
# "Kubernetes" = "koo-ber-net-eez"
'''


def starter_lexicon(language: str, first_host: str) -> str:
    """The text of a new show's ``lexicon.toml`` for ``language``."""
    body = _ZH if language.startswith("zh") else _EN
    return _HEADER.format(host=first_host) + body
