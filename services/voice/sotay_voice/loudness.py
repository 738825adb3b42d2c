"""Loudness measurement (ITU-R BS.1770-4, as EBU R128 uses it) and streaming normalisation.

Method: the signal is K-weighted (a high-shelf and a high-pass biquad, with coefficients
derived for any sample rate the way libebur128 does), squared, and averaged over 400 ms
blocks that overlap by 75 %. Integrated loudness is the mean power of the blocks above the
absolute gate (-70 LUFS) and above the relative gate (10 LU below the mean of those),
expressed as -0.691 + 10 log10(power).

`LoudnessNormalizer` works chunk by chunk, because the first chunk must be encoded before the
rest of the document exists: each chunk gets one constant gain, target minus the integrated
loudness of everything seen so far (this chunk included). Speech engines keep a steady level,
so the gain settles within a few chunks, and gain steps fall on the pauses between chunks.
Speech has a high crest factor (espeak-ng peaks near full scale at about -18 LUFS), so
reaching -16 LUFS needs peak limiting: a look-ahead limiter keeps samples under the ceiling
(-1 dBFS by default; a sample-peak ceiling, which leaves the encoders some headroom).
"""

import math

import numpy as np
import numpy.typing as npt
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import sosfilt, sosfilt_zi

from sotay_voice.audio import PcmAudio

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
BLOCK_S, HOP_S = 0.4, 0.1
HOPS_PER_BLOCK = round(BLOCK_S / HOP_S)
MAX_GAIN_DB = 30.0
LIMITER_WINDOW_S = 0.02

FloatArray = npt.NDArray[np.float64]


def k_weighting_sos(sample_rate: int) -> FloatArray:
    """The two BS.1770 K-weighting biquads as second-order sections for `sample_rate`."""
    # Stage 1: high shelf (head effects).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2 * (k * k - 1) / a0,
        (1 - k / q + k * k) / a0,
    ]
    # Stage 2: high pass (RLB weighting).
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    high_pass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, high_pass], dtype=np.float64)


def power_to_lufs(power: float) -> float:
    return -0.691 + 10 * math.log10(power) if power > 0 else -math.inf


def gated_loudness(block_powers: FloatArray) -> float:
    """Integrated loudness (LUFS) from 400 ms block mean squares; -inf when all is gated."""
    if len(block_powers) == 0:
        return -math.inf
    absolute_threshold = 10 ** ((ABSOLUTE_GATE_LUFS + 0.691) / 10)
    above_absolute = block_powers[block_powers > absolute_threshold]
    if len(above_absolute) == 0:
        return -math.inf
    relative_threshold = float(np.mean(above_absolute)) * 10 ** (RELATIVE_GATE_LU / 10)
    gated = above_absolute[above_absolute > relative_threshold]
    return power_to_lufs(float(np.mean(gated)))


def _block_powers(hop_powers: FloatArray) -> FloatArray:
    """400 ms block powers (75 % overlap) from consecutive 100 ms mean squares."""
    if len(hop_powers) < HOPS_PER_BLOCK:
        return np.zeros(0)
    windows = np.lib.stride_tricks.sliding_window_view(hop_powers, HOPS_PER_BLOCK)
    return np.asarray(windows.mean(axis=1), dtype=np.float64)


def limit_peaks(signal: FloatArray, ceiling: float, sample_rate: int) -> FloatArray:
    """A look-ahead peak limiter: samples never exceed `ceiling`, and the gain moves smoothly.

    The gain each sample needs is spread by a sliding minimum and then averaged over the same
    window (centred, LIMITER_WINDOW_S wide); every average then only covers minima that
    already include the sample, so the smoothed gain is still low enough everywhere.
    """
    magnitude = np.abs(signal)
    if not len(signal) or float(magnitude.max()) <= ceiling:
        return signal
    needed = np.minimum(1.0, ceiling / np.maximum(magnitude, 1e-12))
    window = max(1, round(LIMITER_WINDOW_S * sample_rate)) | 1
    spread = minimum_filter1d(needed, size=window, mode="nearest")
    smooth = uniform_filter1d(spread, size=window, mode="nearest")
    limited: FloatArray = np.clip(signal * np.minimum(smooth, needed), -ceiling, ceiling)
    return limited


def integrated_loudness(audio: PcmAudio) -> float:
    """Integrated loudness of a whole signal in LUFS (-inf for silence)."""
    return _loudness(audio.to_float(), audio.sample_rate)


def _loudness(signal: FloatArray, sample_rate: int) -> float:
    return _weighted_loudness(sosfilt(k_weighting_sos(sample_rate), signal), sample_rate)


def _weighted_loudness(weighted: FloatArray, sample_rate: int) -> float:
    hop = round(sample_rate * HOP_S)
    usable = len(weighted) // hop * hop
    hop_powers = np.square(weighted[:usable]).reshape(-1, hop).mean(axis=1)
    return gated_loudness(_block_powers(hop_powers))


class LoudnessNormalizer:
    """Brings a stream of chunks to `target_lufs` with a sample-peak ceiling."""

    def __init__(
        self, sample_rate: int, target_lufs: float = -16.0, peak_dbfs: float = -1.0
    ) -> None:
        self.sample_rate = sample_rate
        self.target_lufs = target_lufs
        self.peak_ceiling = 10 ** (peak_dbfs / 20)
        self._sos = k_weighting_sos(sample_rate)
        self._filter_state = sosfilt_zi(self._sos) * 0.0
        self._hop = round(sample_rate * HOP_S)
        self._hop_powers: list[float] = []
        self._pending: FloatArray = np.zeros(0)

    def process(self, audio: PcmAudio) -> PcmAudio:
        """The chunk with one gain applied."""
        if audio.sample_rate != self.sample_rate:
            raise ValueError(f"expected {self.sample_rate} Hz audio, got {audio.sample_rate} Hz")
        signal = audio.to_float()
        weighted = self._measure(signal)
        loudness = self.loudness_so_far()
        gain_db = 0.0 if math.isinf(loudness) else min(MAX_GAIN_DB, self.target_lufs - loudness)
        limited = self._amplify(signal, gain_db)
        if limited is not signal:
            # Limiting took some loudness away: give it back once (then limit again).
            before = _weighted_loudness(weighted, self.sample_rate) + gain_db
            loss = before - _loudness(limited, self.sample_rate)
            if math.isfinite(loss) and loss > 0:
                limited = self._amplify(signal, min(MAX_GAIN_DB, gain_db + loss))
        return PcmAudio(np.round(limited * 32767).astype(np.int16), self.sample_rate)

    def _amplify(self, signal: FloatArray, gain_db: float) -> FloatArray:
        return limit_peaks(signal * 10 ** (gain_db / 20), self.peak_ceiling, self.sample_rate)

    def loudness_so_far(self) -> float:
        """Integrated loudness of the input seen so far (LUFS)."""
        blocks = _block_powers(np.array(self._hop_powers))
        if len(blocks):
            return gated_loudness(blocks)
        # Under 400 ms of audio yet: the plain mean square of what there is.
        squares = np.array(
            self._hop_powers + ([float(np.mean(self._pending))] if len(self._pending) else [])
        )
        return power_to_lufs(float(np.mean(squares))) if len(squares) else -math.inf

    def _measure(self, signal: FloatArray) -> FloatArray:
        """Add the chunk to the running measurement; its K-weighted signal."""
        weighted: FloatArray
        weighted, self._filter_state = sosfilt(self._sos, signal, zi=self._filter_state)
        squares = np.concatenate([self._pending, np.square(weighted)])
        usable = len(squares) // self._hop * self._hop
        self._hop_powers += squares[:usable].reshape(-1, self._hop).mean(axis=1).tolist()
        self._pending = squares[usable:]
        return weighted
