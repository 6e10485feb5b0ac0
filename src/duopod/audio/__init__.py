"""Audio at the sample level, shared by speech and mix: decoding and resampling through the
bundled ffmpeg (``decode``), the numpy signal processing they need (``dsp``: filter design,
convolution, running filters) and the BS.1770 loudness meter (``loudness``).

Nothing here knows about scripts, hosts or episodes; it sits at the bottom of the package
beside ``text`` and ``show``, so every stage may use it.
"""
