import math

import numpy as np
import pytest

from sotay_voice.audio import PcmAudio
from sotay_voice.engines import EspeakEngine
from sotay_voice.loudness import LoudnessNormalizer, integrated_loudness, limit_peaks


def tone(amplitude: float, seconds: float, rate: int, frequency: float = 997.0) -> PcmAudio:
    time = np.arange(round(seconds * rate)) / rate
    return PcmAudio.from_float(amplitude * np.sin(2 * np.pi * frequency * time), rate)


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 48000])
def test_sine_reference_level(rate: int) -> None:
    # BS.1770: a 997 Hz sine with 0 dBFS peak in one channel reads -3.01 LUFS.
    assert integrated_loudness(tone(0.5, 5, rate)) == pytest.approx(-3.01 - 6.02, abs=0.1)


def test_gating_ignores_silence_and_quiet_parts() -> None:
    rate = 24000
    loud = tone(0.25, 5, rate)
    mixed = PcmAudio.concatenate([PcmAudio.silence(10, rate), loud, tone(0.001, 10, rate)], rate)
    assert integrated_loudness(mixed) == pytest.approx(integrated_loudness(loud), abs=0.3)
    assert integrated_loudness(PcmAudio.silence(3, rate)) == -math.inf


def test_limiter_keeps_the_ceiling_and_leaves_quiet_signals_alone() -> None:
    rate = 22050
    signal = tone(0.9, 1, rate).to_float() * 2
    limited = limit_peaks(signal, 0.5, rate)
    assert np.max(np.abs(limited)) <= 0.5
    quiet = signal * 0.1
    assert np.array_equal(limit_peaks(quiet, 0.5, rate), quiet)


def test_normalizer_brings_quiet_and_loud_streams_to_target() -> None:
    rate = 22050
    for amplitude in (0.02, 0.9):
        normalizer = LoudnessNormalizer(rate, target_lufs=-16.0)
        chunks = [normalizer.process(tone(amplitude, 2, rate, 440 + 40 * i)) for i in range(5)]
        levelled = PcmAudio.concatenate(chunks, rate)
        assert integrated_loudness(levelled) == pytest.approx(-16.0, abs=0.5)
        assert np.max(np.abs(levelled.samples)) <= 32767 * 10 ** (-1 / 20) + 1


def test_normalizer_levels_real_speech(espeak: EspeakEngine) -> None:
    speech = espeak.synthesize(
        "Đảng viên phải gương mẫu, nói đi đôi với làm, chấp hành nghị quyết."
    )
    normalizer = LoudnessNormalizer(speech.sample_rate)
    levelled = PcmAudio.concatenate(
        [normalizer.process(speech) for _ in range(3)], speech.sample_rate
    )
    assert integrated_loudness(levelled) == pytest.approx(-16.0, abs=1.0)
    assert normalizer.loudness_so_far() == pytest.approx(integrated_loudness(speech), abs=0.5)


def test_normalizer_rejects_another_sample_rate() -> None:
    with pytest.raises(ValueError):
        LoudnessNormalizer(22050).process(PcmAudio.silence(1, 16000))
