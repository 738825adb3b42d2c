import pytest

from sotay_voice.encode import AudioFormat, EncodingError, decode_audio
from sotay_voice.engines import EspeakEngine, PiperEngine, SpeechEngineError
from sotay_voice.normalize import Normalizer
from sotay_voice.render import DocumentRenderer, RenderOptions
from sotay_voice.segment import ChunkLimits, plan_document

DOCUMENT = """Điều 1. Phạm vi điều chỉnh
Quy định này hướng dẫn thi hành Nghị quyết 01-NQ/TU ngày 10/8/2021 của Ban Thường vụ Tỉnh ủy.
Điều 2. Đối tượng áp dụng
Đảng viên trong Đảng bộ tỉnh, gồm 45.678 đồng chí sinh hoạt tại 1.204 chi bộ."""


def test_stream_yields_audio_chunk_by_chunk(espeak: EspeakEngine) -> None:
    chunks = plan_document(DOCUMENT, Normalizer(), limits=ChunkLimits(40, 120))
    renderer = DocumentRenderer(espeak)
    increments = list(renderer.stream(chunks))
    assert len(increments) == len(chunks) + 1
    assert increments[0][AudioFormat.OPUS]
    assert increments[0][AudioFormat.MP3]
    assert renderer.timeline is not None
    assert [chapter.title for chapter in renderer.timeline.chapters] == [
        "Điều 1. Phạm vi điều chỉnh",
        "Điều 2. Đối tượng áp dụng",
    ]
    whole = b"".join(increment[AudioFormat.OPUS] for increment in increments)
    assert decode_audio(whole).duration_s == pytest.approx(renderer.timeline.duration_s, abs=0.03)


def test_render_with_piper_and_a_faster_rate(piper: PiperEngine) -> None:
    chunks = plan_document("The committee met.\nIt approved the plan.", Normalizer())
    normal = DocumentRenderer(piper).render(chunks)
    fast_options = RenderOptions(rate=1.5, formats=(AudioFormat.OPUS,))
    fast = DocumentRenderer(piper, fast_options).render(chunks)
    assert set(fast.files) == {AudioFormat.OPUS}
    assert fast.timeline.duration_s < normal.timeline.duration_s
    decoded = decode_audio(normal.files[AudioFormat.MP3])
    assert decoded.duration_s == pytest.approx(normal.timeline.duration_s, abs=0.15)


def test_engine_failure_surfaces_as_a_coded_error() -> None:
    chunks = plan_document(DOCUMENT, Normalizer())
    renderer = DocumentRenderer(EspeakEngine(binary="/nonexistent/espeak-ng"))
    with pytest.raises(SpeechEngineError) as raised:
        renderer.render(chunks)
    assert raised.value.code == "voice_engine_failed"


def test_nothing_to_render_is_an_error(espeak: EspeakEngine) -> None:
    with pytest.raises(EncodingError):
        DocumentRenderer(espeak).render([])
