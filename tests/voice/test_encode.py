import numpy as np
import pytest

from sotay_voice.audio import PcmAudio
from sotay_voice.encode import (
    AudioFormat,
    ChapterMark,
    DocumentEncoder,
    EncodedAudio,
    EncodingError,
    StreamEncoder,
    decode_audio,
    encode_document,
)
from sotay_voice.engines import EspeakEngine
from sotay_voice.loudness import integrated_loudness

SECTIONS = [
    ("Điều một. Phạm vi điều chỉnh.", True),
    (
        "Quy định này quy định những điều đảng viên không được làm, áp dụng với mọi đảng viên.",
        False,
    ),
    ("Điều hai. Trách nhiệm thi hành.", True),
    ("Các cấp ủy, tổ chức đảng và đảng viên chịu trách nhiệm thi hành quy định này.", False),
]
PAUSE_S = 0.8


def window_rms(audio: PcmAudio, start_s: float, end_s: float) -> float:
    rate = audio.sample_rate
    window = audio.to_float()[max(0, round(start_s * rate)) : round(end_s * rate)]
    return float(np.sqrt(np.mean(window**2))) if len(window) else 0.0


@pytest.fixture(scope="module")
def speech_chunks(espeak: EspeakEngine) -> list[tuple[PcmAudio, float, ChapterMark | None]]:
    return [
        (espeak.synthesize(text), PAUSE_S, ChapterMark(text) if opens_chapter else None)
        for text, opens_chapter in SECTIONS
    ]


@pytest.fixture(scope="module")
def encoded(speech_chunks: list[tuple[PcmAudio, float, ChapterMark | None]]) -> EncodedAudio:
    return encode_document(speech_chunks)


def test_timeline_is_the_sum_of_chunks_and_pauses(
    encoded: EncodedAudio, speech_chunks: list[tuple[PcmAudio, float, ChapterMark | None]]
) -> None:
    durations = [audio.duration_s + pause for audio, pause, _ in speech_chunks]
    assert encoded.timeline.duration_s == pytest.approx(sum(durations), abs=1e-3)
    assert [chapter.title for chapter in encoded.timeline.chapters] == [
        SECTIONS[0][0],
        SECTIONS[2][0],
    ]
    assert encoded.timeline.chapters[0].start_s == 0.0
    assert encoded.timeline.chapters[1].start_s == pytest.approx(sum(durations[:2]), abs=1e-3)


@pytest.mark.parametrize(
    ("audio_format", "magic", "tolerance_s"),
    [(AudioFormat.OPUS, b"OggS", 0.03), (AudioFormat.MP3, b"ID3", 0.15)],
)
def test_output_decodes_to_the_timeline_duration(
    encoded: EncodedAudio, audio_format: AudioFormat, magic: bytes, tolerance_s: float
) -> None:
    data = encoded.files[audio_format]
    assert data.startswith(magic)
    decoded = decode_audio(data)
    assert decoded.duration_s == pytest.approx(encoded.timeline.duration_s, abs=tolerance_s)


@pytest.mark.parametrize(
    ("audio_format", "kbps", "tolerance"),
    [(AudioFormat.OPUS, 24, 0.3), (AudioFormat.MP3, 32, 0.1)],
)
def test_bitrates(
    encoded: EncodedAudio, audio_format: AudioFormat, kbps: int, tolerance: float
) -> None:
    measured = len(encoded.files[audio_format]) * 8 / encoded.timeline.duration_s / 1000
    assert measured == pytest.approx(kbps, rel=tolerance)


@pytest.mark.parametrize("audio_format", list(AudioFormat))
def test_chapter_offsets_land_on_speech_after_a_pause(
    encoded: EncodedAudio, audio_format: AudioFormat
) -> None:
    decoded = decode_audio(encoded.files[audio_format])
    for chapter in encoded.timeline.chapters[1:]:
        # Seeking to the chapter: just before it is the pause, just after it the heading.
        assert window_rms(decoded, chapter.start_s - 0.6, chapter.start_s - 0.1) < 0.003
        assert window_rms(decoded, chapter.start_s + 0.1, chapter.start_s + 0.7) > 0.03


@pytest.mark.parametrize("audio_format", list(AudioFormat))
def test_output_is_loudness_normalised(encoded: EncodedAudio, audio_format: AudioFormat) -> None:
    decoded = decode_audio(encoded.files[audio_format])
    assert integrated_loudness(decoded) == pytest.approx(-16.0, abs=1.5)


def test_first_chunk_is_available_before_the_rest(
    speech_chunks: list[tuple[PcmAudio, float, ChapterMark | None]],
) -> None:
    audio, pause, chapter = speech_chunks[1]
    encoder = DocumentEncoder(audio.sample_rate)
    first = encoder.add(audio, pause_after_s=pause, chapter=chapter)
    for data in first.values():
        # Playable on its own, covering most of the chunk already.
        assert decode_audio(data).duration_s > 0.5 * audio.duration_s
    rest = encoder.finish()
    whole = decode_audio(first[AudioFormat.OPUS] + rest[AudioFormat.OPUS])
    assert whole.duration_s == pytest.approx(audio.duration_s + pause, abs=0.03)


def test_encoder_refuses_another_sample_rate() -> None:
    encoder = StreamEncoder(AudioFormat.OPUS, 22050)
    with pytest.raises(ValueError):
        encoder.encode(PcmAudio.silence(1, 16000))


def test_encoder_handles_piper_and_other_rates() -> None:
    for rate in (16000, 22050, 44100):
        encoder = StreamEncoder(AudioFormat.MP3, rate)
        tone = PcmAudio.from_float(0.3 * np.sin(np.arange(rate * 2) * 0.05), rate)
        data = encoder.encode(tone) + encoder.finish()
        assert decode_audio(data).duration_s == pytest.approx(2.0, abs=0.15)


def test_decoding_garbage_is_an_encoding_error() -> None:
    with pytest.raises(EncodingError):
        decode_audio(b"this is not audio at all" * 10)


def test_nothing_to_encode_is_an_error() -> None:
    with pytest.raises(EncodingError):
        encode_document([])
