"""Mono 16-bit PCM audio as engines produce it and encoders consume it."""

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]


class WavFormatError(ValueError):
    """Bytes that are not 16-bit PCM WAV."""


@dataclass(frozen=True)
class PcmAudio:
    """Mono signed 16-bit samples at `sample_rate` Hz."""

    samples: Samples
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @classmethod
    def silence(cls, duration_s: float, sample_rate: int) -> "PcmAudio":
        length = max(0, round(duration_s * sample_rate))
        return cls(np.zeros(length, dtype=np.int16), sample_rate)

    @classmethod
    def from_float(cls, samples: npt.NDArray[np.floating[Any]], sample_rate: int) -> "PcmAudio":
        """From floats in [-1, 1] (values outside are clipped)."""
        scaled = np.clip(np.asarray(samples, dtype=np.float64) * 32767.0, -32768, 32767)
        return cls(np.round(scaled).astype(np.int16), sample_rate)

    @classmethod
    def concatenate(cls, parts: list["PcmAudio"], sample_rate: int) -> "PcmAudio":
        if any(part.sample_rate != sample_rate for part in parts):
            raise ValueError("cannot join audio of different sample rates")
        if not parts:
            return cls(np.zeros(0, dtype=np.int16), sample_rate)
        return cls(np.concatenate([part.samples for part in parts]), sample_rate)

    def to_float(self) -> npt.NDArray[np.float64]:
        return self.samples.astype(np.float64) / 32768.0


def parse_wav(data: bytes) -> PcmAudio:
    """Mono 16-bit PCM from a RIFF/WAVE file.

    Streaming writers (espeak-ng --stdout) put a placeholder in the data chunk's size, so
    the data chunk is taken to run to the end of the bytes when its size overshoots.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavFormatError("not a RIFF/WAVE file")
    offset, sample_rate = 12, 0
    while offset + 8 <= len(data):
        chunk_id, size = data[offset : offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        body = offset + 8
        if chunk_id == b"fmt ":
            audio_format, channels, sample_rate = struct.unpack_from("<HHI", data, body)
            bits = struct.unpack_from("<H", data, body + 14)[0]
            if audio_format != 1 or channels != 1 or bits != 16:
                raise WavFormatError("only mono 16-bit PCM is supported")
        elif chunk_id == b"data":
            if not sample_rate:
                raise WavFormatError("data chunk before fmt chunk")
            end = min(body + size, len(data))
            end -= (end - body) % 2
            return PcmAudio(
                np.frombuffer(data[body:end], dtype="<i2").astype(np.int16), sample_rate
            )
        offset = body + size + size % 2
    raise WavFormatError("no data chunk")
