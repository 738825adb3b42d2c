import struct

import numpy as np
import numpy.typing as npt
import pytest

from sotay_voice.audio import PcmAudio, WavFormatError, parse_wav


def wav_bytes(samples: npt.NDArray[np.int16], rate: int, data_size: int | None = None) -> bytes:
    data = samples.astype("<i2").tobytes()
    size = len(data) if data_size is None else data_size
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
        + b"fmt " + struct.pack("<I", 16) + fmt
        + b"data" + struct.pack("<I", size) + data
    )  # fmt: skip


def test_parse_wav_reads_samples_and_rate() -> None:
    samples = np.array([0, 1000, -1000, 32767, -32768], dtype=np.int16)
    audio = parse_wav(wav_bytes(samples, 16000))
    assert audio.sample_rate == 16000
    assert np.array_equal(audio.samples, samples)


def test_parse_wav_accepts_a_streaming_placeholder_size() -> None:
    samples = np.arange(100, dtype=np.int16)
    audio = parse_wav(wav_bytes(samples, 22050, data_size=0x7FFFF000))
    assert np.array_equal(audio.samples, samples)


def test_parse_wav_rejects_other_formats() -> None:
    with pytest.raises(WavFormatError):
        parse_wav(b"ID3\x04" + bytes(100))


def test_silence_concatenate_and_duration() -> None:
    joined = PcmAudio.concatenate(
        [PcmAudio.silence(0.5, 8000), PcmAudio.from_float(np.ones(800), 8000)], 8000
    )
    assert joined.duration_s == pytest.approx(0.6)
    assert joined.samples[-1] == 32767
    with pytest.raises(ValueError):
        PcmAudio.concatenate([PcmAudio.silence(0.1, 8000)], 16000)
