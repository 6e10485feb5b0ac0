"""Every Kokoro-82M v1.0 voice duopod ships: the 8 Mandarin and 28 English ones (American
and British) of the npm package kokoro-js 1.2.1, copied unchanged into ``kokoro_voices/``
(see its NOTICE.md: the tarball's hash, the licence, how to check them again).

Each voice is described by what a producer picks a host's voice by: its language and
gender (Kokoro's naming: ``zf_`` Mandarin female), kokoro-js's overall grade of the English
voices (hexgrad's, A best to F; the package grades no Mandarin voice), and its pitch: the
median fundamental frequency of the voice saying its sample line (``SAMPLES``), measured
here by autocorrelation over voiced 40 ms frames (benchmarks/RESULTS.md, 2026-12-07). The
pitch tells two voices of one gender apart, and matches a host's voice across languages
(``speech.casting``). ``sha256`` is the file's, checked when the voice is first loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOGUE", "SAMPLES", "KokoroVoice", "sample_line"]


@dataclass(frozen=True)
class KokoroVoice:
    name: str
    language: str
    """zh-CN, en-US or en-GB."""
    gender: str
    """female or male."""
    grade: str
    """kokoro-js's overall grade (A best, F worst); empty for the ungraded Mandarin voices."""
    pitch: int
    """Median F0 in Hz saying its sample line."""
    sha256: str

    @property
    def rank(self) -> int:
        """Lower is better: the grade's place (A, A-, B+ ... F-), ungraded voices in the
        middle (C)."""
        grade = self.grade or "C"
        return "ABCDF".index(grade[0]) * 3 + {"+": 0, "": 1, "-": 2}[grade[1:]]


SAMPLES = {
    "zh-CN": "大家好，欢迎收听今天的节目。我们聊聊芯片。",
    "en-US": "Hello, and welcome to today's show. Let's talk about chips.",
    "en-GB": "Hello, and welcome to today's show. Let's talk about chips.",
}
"""A line each voice speaks in ``duopod voices`` (and was measured on)."""


def sample_line(language: str) -> str:
    return SAMPLES.get(language, SAMPLES["en-US"])


CATALOGUE: dict[str, KokoroVoice] = {
    "zf_xiaobei": KokoroVoice("zf_xiaobei", "zh-CN", "female", "", 235,
                       "5dde6e1c9c4f12c8b327bc29c0cee361a23b52b952c04636858ba637ec66e640"),
    "zf_xiaoni": KokoroVoice("zf_xiaoni", "zh-CN", "female", "", 216,
                       "08892b62a39af0a615cd0581238db7e19e44c578e8fa0bfd0e586e93327d9cba"),
    "zf_xiaoxiao": KokoroVoice("zf_xiaoxiao", "zh-CN", "female", "", 227,
                       "03adb5d5e3ddd88b047954e974e651cb0a4b524c985057e5d872e962c7be1169"),
    "zf_xiaoyi": KokoroVoice("zf_xiaoyi", "zh-CN", "female", "", 292,
                       "bc1555c5c486099196ac254bae5e0bb543c121952a3092f50b7d8724f1bc36b3"),
    "zm_yunjian": KokoroVoice("zm_yunjian", "zh-CN", "male", "", 126,
                       "de48a00bdbf3649f07162269a2b6e0513604389bfac8a2e6c75cb34b323ad6fa"),
    "zm_yunxi": KokoroVoice("zm_yunxi", "zh-CN", "male", "", 162,
                       "7243892fb4e560d47014090ddf010f8b8b790f3c6b029ff82b2ac06aa4e27c8b"),
    "zm_yunxia": KokoroVoice("zm_yunxia", "zh-CN", "male", "", 292,
                       "6b2b8fc15b3df19a368daebe5c581c7fabf433ee5b8a17ffd6b3d723cff8936d"),
    "zm_yunyang": KokoroVoice("zm_yunyang", "zh-CN", "male", "", 113,
                       "261e2c89470534dbbcb8fd98b8fdc495ec94063d9bb6c8277f7be43cccba3f42"),
    "af_alloy": KokoroVoice("af_alloy", "en-US", "female", "C", 147,
                       "c4a6b876047fd7fb472edf4ebd63cfac7c3b958a7cae7c106e8f038ca6308c45"),
    "af_aoede": KokoroVoice("af_aoede", "en-US", "female", "C+", 183,
                       "4a004c33430762e2461eedb2013fad808ef4ab3121f5300f554476caf58d8361"),
    "af_bella": KokoroVoice("af_bella", "en-US", "female", "A-", 192,
                       "f69d836209b78eb8c66e75e3cda491e26ea838a3674257e9d4e5703cbaf55c8b"),
    "af_heart": KokoroVoice("af_heart", "en-US", "female", "A", 195,
                       "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b"),
    "af_jessica": KokoroVoice("af_jessica", "en-US", "female", "D", 213,
                       "a240a5e3c15b43563d6e923bdca8ef5613a23471d9b77653694012435df23bd8"),
    "af_kore": KokoroVoice("af_kore", "en-US", "female", "C+", 156,
                       "9be5221b6a941c04b561959b8ff0b06e809444dcc4ab7e75a7b23606f691819e"),
    "af_nicole": KokoroVoice("af_nicole", "en-US", "female", "B-", 146,
                       "cd2191ab31b914ed7b318416b0e4440fdf392ddad9106a060819aa600a64f59a"),
    "af_nova": KokoroVoice("af_nova", "en-US", "female", "C", 165,
                       "18778272caa0d0eebaea251c35fd635f038434f9eee5e691d02a174bd328414f"),
    "af_river": KokoroVoice("af_river", "en-US", "female", "D", 183,
                       "00a2bcf82b1d86e8f19902ede58c65ccf6c0e43b44b7d74fad54e5d8933c9c30"),
    "af_sarah": KokoroVoice("af_sarah", "en-US", "female", "C+", 185,
                       "4409fbc125afabacc615d94db5398d847006a737b0247d6892b7a9a0007a2f0a"),
    "af_sky": KokoroVoice("af_sky", "en-US", "female", "C-", 163,
                       "4435255c9744f3f31659e0d714ab7689bf65d9e77ec1cce060f083912614f0b9"),
    "am_adam": KokoroVoice("am_adam", "en-US", "male", "F+", 123,
                       "162b035ed91cfc48b6046982184c645f72edcdd1b82843347f605d7bf7b15716"),
    "am_echo": KokoroVoice("am_echo", "en-US", "male", "D", 111,
                       "3968b92c3c4cd1c4416dbded36c13eaa388a90d5788d02a13e4d781f5f8cf3c3"),
    "am_eric": KokoroVoice("am_eric", "en-US", "male", "D", 157,
                       "e8b5be17edd1e3636901ce7598baafe2dc8dd8ff707a0c23bf9e461add7e2832"),
    "am_fenrir": KokoroVoice("am_fenrir", "en-US", "male", "C+", 139,
                       "c27989f741f7ee34d273a39d8a595cc0837d35f5ced9a29b7cc162614616df43"),
    "am_liam": KokoroVoice("am_liam", "en-US", "male", "D", 125,
                       "52403be32fd047c6a44517cb0bcd6b134f2a18baa73e70ef41651e0eab921ade"),
    "am_michael": KokoroVoice("am_michael", "en-US", "male", "C+", 113,
                       "1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1"),
    "am_onyx": KokoroVoice("am_onyx", "en-US", "male", "D", 92,
                       "da5d135b424164916d75a68ffb4c2abce3d7d5ccc82dd1ee6cf447ce286145e6"),
    "am_puck": KokoroVoice("am_puck", "en-US", "male", "C+", 120,
                       "fcf73c989033e9233e0b98713eca600c8c74dcc1614b37009d5450ff4a2274a0"),
    "am_santa": KokoroVoice("am_santa", "en-US", "male", "D-", 178,
                       "61150cf726ab6c5ed7a99f90a304f91f5a72c00c592e89ec94e5df11c319227a"),
    "bf_alice": KokoroVoice("bf_alice", "en-GB", "female", "D", 228,
                       "08afa6ba24da61ea5e8efa139e5aadc938d83f0a6da5a900adaf763ac1da5573"),
    "bf_emma": KokoroVoice("bf_emma", "en-GB", "female", "B-", 184,
                       "669fe0647f9dd04fcab92f1439a40eeb4c8b4ab1f82e4996fe3d918ce4a63b73"),
    "bf_isabella": KokoroVoice("bf_isabella", "en-GB", "female", "C", 202,
                       "3754352c4aaa46d17f27654ab7518d65b62ad6163a0f55a5f4330c2da2c4e94f"),
    "bf_lily": KokoroVoice("bf_lily", "en-GB", "female", "D", 197,
                       "5e0ee32ebe64a467124976b14e69590746f1c4ce41a12b587a50c862edfea335"),
    "bm_daniel": KokoroVoice("bm_daniel", "en-GB", "male", "D", 130,
                       "6b3194bbceffb746733cbc22c8f593dd44e401a71d53895a2dca891bc595a1e8"),
    "bm_fable": KokoroVoice("bm_fable", "en-GB", "male", "C", 129,
                       "f889083196807b4adb15e9204252165f503b8d33d3982e681c52443c49d798f1"),
    "bm_george": KokoroVoice("bm_george", "en-GB", "male", "C", 145,
                       "c4b235a4c1f2cd3b939fed08b899ce9385638b763f7b73a59616c4fc9bd6c9bc"),
    "bm_lewis": KokoroVoice("bm_lewis", "en-GB", "male", "D+", 89,
                       "b8f671cef828c30e66fdf0b0756a76bba58f6bb3398cbbf27058642acbcedb97"),
}
