"""The filters a build needs, in numpy alone: a windowed-sinc low-pass design, linear
convolution by FFT, the impulse response of a cascade of biquads, a running minimum and a
moving average.

scipy.signal and scipy.ndimage have them all, but importing scipy.signal takes about a
second here (scipy 1.17 rewrites hundreds of docstrings as it loads): a fifth of a warm
rebuild of the 5-minute example, half of the offline engine's render of it. A build needs
only the mastering low-pass, the true-peak interpolator, the limiter's gain smoothing, the
loudness meter's K-weighting and, for espeak-ng's 22,050 Hz, a doubling of the sample rate;
the tests hold each to scipy's own (``firwin``, ``oaconvolve``, ``sosfilt``,
``minimum_filter1d``, ``uniform_filter1d``, ``resample_poly``) to within rounding. Music
is resampled by ffmpeg as it is decoded; speech at a rate 44,100 Hz is not a whole multiple
of (Kokoro's and edge's 24 kHz) still goes through ``resample_poly``, and so loads
scipy.signal.
"""

from __future__ import annotations

import numpy as np

_FFT_SIZE = 1 << 12
"""The fewest samples per FFT block when convolving (small blocks stay in the CPU cache;
a long response gets blocks of at least four times its length)."""


def lowpass_taps(count: int, cutoff: float, window: np.ndarray) -> np.ndarray:
    """A linear-phase low-pass FIR of ``count`` taps: the ideal response cut off at
    ``cutoff`` (a fraction of the Nyquist frequency) times ``window``, scaled to unity gain
    at DC (what ``scipy.signal.firwin`` designs for a single low-pass band)."""
    offsets = np.arange(count) - (count - 1) / 2
    taps = cutoff * np.sinc(cutoff * offsets) * window
    taps_normalised: np.ndarray = taps / taps.sum()
    return taps_normalised


def interpolation_taps(factor: int, reach: int) -> np.ndarray:
    """The low-pass that fills in the points between samples spread ``factor`` apart with
    zeros: cut off at the old Nyquist frequency, ``reach`` input samples on each side, a
    Kaiser window (beta 5, as ``resample_poly`` has it), gain ``factor`` so the spread
    signal keeps its level."""
    count = 2 * reach * factor + 1
    return factor * lowpass_taps(count, 1 / factor, np.kaiser(count, 5.0))


def convolve(signal: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """The full linear convolution of ``signal`` ((n,) or (n, channels), along axis 0) with
    ``taps``: n + len(taps) - 1 samples, by FFT overlap-add in blocks. Float32 stays float32."""
    reach = len(taps) - 1
    if len(signal) == 0:  # nothing to filter (as scipy has it: an empty result)
        return np.zeros(signal.shape, dtype=np.result_type(signal, np.float32))
    size = max(_FFT_SIZE, 1 << (4 * reach).bit_length())
    step = size - reach  # input samples per block; a block's tail spills into the next
    columns = signal.reshape(len(signal), -1)
    dtype = np.result_type(columns.dtype, np.float32)
    blocks = -(-len(columns) // step)
    response = np.fft.rfft(taps.astype(dtype, copy=False), size)
    out = np.zeros((blocks * step + reach, columns.shape[1]), dtype=dtype)
    for channel in range(columns.shape[1]):
        padded = np.zeros(blocks * step, dtype=dtype)
        padded[: len(columns)] = columns[:, channel]
        spectra = np.fft.rfft(padded.reshape(blocks, step), size, axis=1)
        pieces = np.fft.irfft(spectra * response, size, axis=1)
        out[: blocks * step, channel] += pieces[:, :step].reshape(-1)
        # each block's last ``reach`` samples land at the start of the next block's span
        # (shorter than a block, so the tails never overlap one another)
        tails = np.zeros((blocks, step), dtype=dtype)
        tails[:, :reach] = pieces[:, step:]
        out[step : step + blocks * step, channel] += tails.reshape(-1)[: len(out) - step]
    full = out[: len(columns) + reach]
    return full if signal.ndim > 1 else full[:, 0]


def convolve_same(signal: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """The convolution's centre, as long as ``signal`` (a linear-phase filter's output
    aligned with its input)."""
    start = (len(taps) - 1) // 2
    return convolve(signal, taps)[start : start + len(signal)]


def biquad_impulse_response(sections: np.ndarray, length: int) -> np.ndarray:
    """The first ``length`` samples of the impulse response of second-order sections in
    cascade (rows ``b0 b1 b2 a0 a1 a2``, as ``scipy.signal.sosfilt`` takes them). Worked
    out sample by sample once per filter: a few milliseconds for a few thousand samples."""
    response = [1.0] + [0.0] * (length - 1)
    normalised = np.asarray(sections, dtype=np.float64)
    normalised = normalised / normalised[:, 3:4]
    for b0, b1, b2, _a0, a1, a2 in normalised.tolist():
        x1 = x2 = y1 = y2 = 0.0
        for n, x in enumerate(response):
            y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            response[n] = y
            x2, x1, y2, y1 = x1, x, y1, y
    return np.array(response)


def running_minimum(values: np.ndarray, size: int) -> np.ndarray:
    """The minimum over a centred window of ``size`` (odd) samples, the edges extended with
    the first and last values (``scipy.ndimage.minimum_filter1d`` in "nearest" mode). In
    linear time whatever the size: the padded values are cut into windows-wide blocks, and
    every window spans the end of one block and the start of the next, whose running minima
    (from the block's end, and from its start) are two cumulative minima over the blocks."""
    half = size // 2
    count = len(values)
    if count == 0:
        return values.copy()
    blocks = -(-(count + 2 * half) // size)
    padded = np.empty(blocks * size, dtype=values.dtype)
    padded[:half] = values[0]
    padded[half : half + count] = values
    padded[half + count :] = values[-1]
    grid = padded.reshape(blocks, size)
    from_start = np.minimum.accumulate(grid, axis=1).reshape(-1)
    to_end = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].reshape(-1)
    return np.minimum(to_end[:count], from_start[size - 1 : size - 1 + count])


def moving_average(values: np.ndarray, size: int) -> np.ndarray:
    """The mean over a window of ``size`` samples around each (for an even size, one more
    before than after), the edges extended with the first and last values
    (``scipy.ndimage.uniform_filter1d`` in "nearest" mode). Sums in float64; returns the
    input's dtype."""
    if len(values) == 0:
        return values.copy()
    before = size // 2
    after = size - 1 - before
    padded = np.concatenate([np.full(before, values[0], dtype=np.float64),
                             values.astype(np.float64),
                             np.full(after, values[-1], dtype=np.float64)])
    sums = np.concatenate([[0.0], np.cumsum(padded)])
    averaged: np.ndarray = ((sums[size:] - sums[:-size]) / size).astype(values.dtype)
    return averaged
