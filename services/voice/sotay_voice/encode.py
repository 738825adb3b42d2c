"""PCM chunks to Ogg Opus (main) and MP3 (fallback), incrementally, with chapter offsets.

Encoding uses PyAV (the `av` wheel bundles FFmpeg with libopus and libmp3lame): in process,
no subprocess pipes, the same codecs on every machine, and the GIL is released while a
codec works, so the two formats encode in parallel threads.

Streaming: `StreamEncoder.encode` returns the bytes that became available for each chunk,
and the concatenation of everything it returned (then `finish`) is the complete file. Ogg
pages are closed at least every `OGG_PAGE_DURATION_US`, so a chunk's audio is out within
half a second; the MP3 stream is constant bitrate without a Xing header (written only when
the output can seek back), so players compute its duration from its size.

Chapter offsets come from sample counts of the PCM fed in, which is exact. Decoded Opus has
exactly the input's length (the Ogg granule positions trim the codec delay); decoded MP3
starts about 50 ms late (LAME's encoder delay, which only a LAME header, absent from a
stream, would let players trim), well within what chapter seeking needs.
"""

import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.packet import Packet

from sotay_voice.audio import PcmAudio
from sotay_voice.loudness import LoudnessNormalizer

OGG_PAGE_DURATION_US = 500_000


class AudioFormat(StrEnum):
    OPUS = "opus"
    MP3 = "mp3"


@dataclass(frozen=True)
class FormatSpec:
    container: str
    codec: str
    bitrate: int
    sample_rates: tuple[int, ...]  # the codec's rates, preferred first
    mime_type: str
    extension: str
    codec_options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)


FORMATS = {
    AudioFormat.OPUS: FormatSpec(
        "ogg",
        "libopus",
        24_000,
        (24_000,),  # Opus takes 8/12/16/24/48 kHz; 24 kHz keeps the voices' whole band
        "audio/ogg; codecs=opus",
        "opus",
        # The speech-tuned mode; complexity 5 of 10 encodes ~1.5x faster at the same bitrate.
        {"application": "voip", "compression_level": "5"},
        {"page_duration": str(OGG_PAGE_DURATION_US)},
    ),
    AudioFormat.MP3: FormatSpec(
        "mp3",
        "libmp3lame",
        32_000,
        (24_000, 22_050, 16_000),  # the input's rate when it is one of these: no resampling
        "audio/mpeg",
        "mp3",
        {"compression_level": "7"},  # LAME -q 7: twice as fast, no audible loss for speech
        {"write_id3v1": "0"},
    ),
}


class EncodingError(Exception):
    code = "voice_encoding_failed"
    message_vi = "Không mã hóa được âm thanh."


class _ByteSink:
    """A write-only file for the muxer: no `seek`, so FFmpeg writes a pure stream."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class StreamEncoder:
    """One format, fed mono PCM at `input_rate`; returns encoded bytes as they appear."""

    def __init__(
        self, audio_format: AudioFormat, input_rate: int, bitrate: int | None = None
    ) -> None:
        self.audio_format = audio_format
        self.spec = FORMATS[audio_format]
        self.input_rate = input_rate
        rates = self.spec.sample_rates
        self.output_rate = input_rate if input_rate in rates else rates[0]
        self._sink = _ByteSink()
        try:
            self._container = av.open(
                self._sink,
                mode="w",
                format=self.spec.container,
                options=self.spec.container_options,
            )
            stream = self._container.add_stream(
                self.spec.codec, rate=self.output_rate, options=self.spec.codec_options
            )
        except av.FFmpegError as error:
            raise EncodingError(f"cannot open {audio_format} encoder: {error}") from error
        if not isinstance(stream, AudioStream):
            raise EncodingError(f"{self.spec.codec} is not an audio codec")
        self._stream = stream
        stream.bit_rate = bitrate or self.spec.bitrate
        stream.layout = "mono"
        self._resampler = AudioResampler(
            format=stream.codec_context.format, layout="mono", rate=self.output_rate
        )
        self._samples_out = 0
        self._finished = False

    def encode(self, audio: PcmAudio) -> bytes:
        """Encode a chunk; the bytes that became available (possibly none)."""
        if audio.sample_rate != self.input_rate:
            raise ValueError(f"expected {self.input_rate} Hz audio, got {audio.sample_rate} Hz")
        if self._finished:
            raise EncodingError("encoder already finished")
        if len(audio.samples):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(audio.samples).reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = self.input_rate
            self._encode_frames(self._resampler.resample(frame))
        return self._sink.drain()

    def finish(self) -> bytes:
        """Flush the resampler, the codec and the muxer; the last bytes of the file."""
        if not self._finished:
            self._finished = True
            self._encode_frames(self._resampler.resample(None))
            self._mux(self._stream.encode(None))
            self._container.close()
        return self._sink.drain()

    def _encode_frames(self, frames: list[AudioFrame]) -> None:
        for frame in frames:
            frame.pts = self._samples_out
            frame.time_base = Fraction(1, self.output_rate)
            self._samples_out += frame.samples
            self._mux(self._stream.encode(frame))

    def _mux(self, packets: "list[Packet[AudioStream]]") -> None:  # Packet is generic in stubs only
        try:
            self._container.mux(packets)
        except av.FFmpegError as error:
            raise EncodingError(f"{self.audio_format} muxing failed: {error}") from error


@dataclass(frozen=True)
class Chapter:
    """A chapter start in the rendered audio."""

    title: str
    start_s: float
    anchor: str | None = None


@dataclass(frozen=True)
class ChapterMark:
    """Marks the chunk that opens a chapter (see segment.py)."""

    title: str
    anchor: str | None = None


@dataclass(frozen=True)
class Timeline:
    """Duration and chapter starts of a finished render (identical for every format)."""

    duration_s: float
    chapters: list[Chapter]


@dataclass(frozen=True)
class EncodedAudio:
    """Whole files of a finished render, with their timeline."""

    files: dict[AudioFormat, bytes]
    timeline: Timeline


class DocumentEncoder:
    """Loudness-normalises chunks once, encodes every format in parallel, records chapters.

    `add` returns, per format, the bytes that became available (for streaming); `finish`
    returns the last bytes; the full file of a format is everything returned in order.
    """

    def __init__(
        self,
        sample_rate: int,
        formats: tuple[AudioFormat, ...] = (AudioFormat.OPUS, AudioFormat.MP3),
        target_lufs: float = -16.0,
    ) -> None:
        self.sample_rate = sample_rate
        self._loudness = LoudnessNormalizer(sample_rate, target_lufs=target_lufs)
        self._encoders = {fmt: StreamEncoder(fmt, sample_rate) for fmt in formats}
        self._pool = ThreadPoolExecutor(max_workers=len(formats), thread_name_prefix="encode")
        self._lock = threading.Lock()
        self._samples = 0
        self._chapters: list[Chapter] = []

    def timeline(self) -> Timeline:
        """Duration and chapters of what was added so far."""
        return Timeline(self._samples / self.sample_rate, list(self._chapters))

    def add(
        self, audio: PcmAudio, *, pause_after_s: float = 0.0, chapter: ChapterMark | None = None
    ) -> dict[AudioFormat, bytes]:
        """Append a chunk (then `pause_after_s` of silence); a chapter starts at the chunk."""
        with self._lock:
            if chapter is not None:
                start = round(self._samples / self.sample_rate, 3)
                self._chapters.append(Chapter(chapter.title, start, chapter.anchor))
            levelled = self._loudness.process(audio)
            pause = PcmAudio.silence(pause_after_s, self.sample_rate)
            joined = PcmAudio.concatenate([levelled, pause], self.sample_rate)
            self._samples += len(joined.samples)
            return self._run(lambda encoder: encoder.encode(joined))

    def finish(self) -> dict[AudioFormat, bytes]:
        """The last bytes of every format; the encoder cannot be used afterwards."""
        with self._lock:
            try:
                return self._run(lambda encoder: encoder.finish())
            finally:
                self._pool.shutdown()

    def abort(self) -> None:
        """Give up (a failed render): release the encoding threads."""
        self._pool.shutdown(cancel_futures=True)

    def _run(self, action: Callable[[StreamEncoder], bytes]) -> dict[AudioFormat, bytes]:
        futures = {
            fmt: self._pool.submit(action, encoder) for fmt, encoder in self._encoders.items()
        }
        return {fmt: future.result() for fmt, future in futures.items()}


def encode_document(
    chunks: list[tuple[PcmAudio, float, ChapterMark | None]],
    formats: tuple[AudioFormat, ...] = (AudioFormat.OPUS, AudioFormat.MP3),
    target_lufs: float = -16.0,
) -> EncodedAudio:
    """Whole files at once from (audio, pause after, chapter) chunks of one sample rate."""
    if not chunks:
        raise EncodingError("nothing to encode")
    encoder = DocumentEncoder(chunks[0][0].sample_rate, formats, target_lufs)
    parts: dict[AudioFormat, list[bytes]] = {fmt: [] for fmt in formats}
    for audio, pause_s, chapter in chunks:
        for fmt, data in encoder.add(audio, pause_after_s=pause_s, chapter=chapter).items():
            parts[fmt].append(data)
    for fmt, data in encoder.finish().items():
        parts[fmt].append(data)
    files = {fmt: b"".join(pieces) for fmt, pieces in parts.items()}
    return EncodedAudio(files, encoder.timeline())


def decode_audio(data: bytes, sample_rate: int = 24_000) -> PcmAudio:
    """Decode an encoded file (any format FFmpeg reads) to mono PCM at `sample_rate`."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            resampler = AudioResampler(format="s16", layout="mono", rate=sample_rate)
            frames = [
                *(out for frame in container.decode(audio=0) for out in resampler.resample(frame)),
                *resampler.resample(None),
            ]
    except av.FFmpegError as error:
        raise EncodingError(f"cannot decode: {error}") from error
    samples = [frame.to_ndarray().reshape(-1) for frame in frames]
    joined = np.concatenate(samples).astype(np.int16) if samples else np.zeros(0, np.int16)
    return PcmAudio(joined, sample_rate)
