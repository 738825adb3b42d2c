"""Voice service benchmark: normalise + plan + synthesise + encode whole documents.

Prints, per engine and document size: wall time of the whole pipeline, the CPU time it used
(threads and espeak-ng processes: on a busy machine, CPU s / cores is the wall time an idle
one would need), the audio duration,
the real-time factor (wall / audio), the synthesis-only real-time factor, the first-audio
latency (start to the first encoded bytes), output sizes; then the encoders' own speed.

    .venv/bin/python bench/voice.py    # espeak-ng 1,000 and 4,000 words, piper 1,000
    .venv/bin/python bench/voice.py --piper-words 1000 4000 --text-file my_doc.txt

Documents are generated from party-news and resolution templates (numbers, dates, document
codes, abbreviations, headings, list items), seeded, so runs are comparable.
"""

import argparse
import os
import random
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sotay_voice.audio import PcmAudio
from sotay_voice.encode import AudioFormat, StreamEncoder
from sotay_voice.engines import EspeakEngine, PiperEngine, SpeechEngine, default_piper_voices_dir
from sotay_voice.normalize import Normalizer
from sotay_voice.render import DocumentRenderer
from sotay_voice.segment import SpeechChunk, plan_document

HEADINGS = [
    "NGHỊ QUYẾT CỦA BAN CHẤP HÀNH ĐẢNG BỘ TỈNH KHÓA {roman}",
    "Điều {n}. {topic}",
    "{roman}. {topic_caps}",
    "{n}. {topic}",
    "Chương {roman}",
]
TOPICS = [
    "Công tác xây dựng Đảng về chính trị",
    "Phát triển kinh tế - xã hội",
    "Công tác kiểm tra, giám sát",
    "Nhiệm vụ của đảng viên",
    "Tổ chức thực hiện",
    "Công tác dân vận",
    "Quốc phòng, an ninh",
]
PARAGRAPHS = [
    "Ngày {date}, BCH Đảng bộ tỉnh tổ chức Hội nghị lần thứ {n} quán triệt Nghị quyết "
    "{code} của Bộ Chính trị; {count} đồng chí tham dự, đạt {pct}% so với kế hoạch.",
    "Thực hiện Chỉ thị {code}, BTV Tỉnh ủy đã ban hành {small} kế hoạch, {small} hướng dẫn; "
    "giai đoạn {y1}-{y2}, toàn tỉnh kết nạp {count} đảng viên mới.",
    "Tổng thu ngân sách nhà nước năm {year} ước đạt {money} tỷ đồng, tăng {pct}% so với cùng "
    "kỳ; GRDP bình quân đầu người đạt {decimal} triệu đồng/người/năm.",
    "Lúc {hour}h{minute}, HĐND tỉnh khai mạc Kỳ họp thứ {small} khóa {roman}; UBND tỉnh báo "
    "cáo tình hình thực hiện Quyết định {state_code} trong quý {quarter}/{year}.",
    "Đại hội XIII của Đảng xác định đến năm 2030 nước ta là nước đang phát triển, có công "
    "nghiệp hiện đại, thu nhập trung bình cao; MTTQ và các đoàn thể tiếp tục đổi mới nội dung, "
    "phương thức hoạt động, hướng về cơ sở.",
    "Theo Hướng dẫn {party_code}, các chi bộ (gồm {small} chi bộ trực thuộc) tổ chức sinh hoạt "
    "chuyên đề trước ngày {day}/{month}; kết quả gửi về Văn phòng Tỉnh ủy qua địa chỉ "
    "vanphong@tinhuy.gov.vn.",
    "Diện tích gieo trồng đạt {count} ha, sản lượng lương thực {money} tấn; xây dựng thêm "
    "{small} km đường giao thông nông thôn, {pct}% số xã đạt chuẩn NTM.",
]
LIST_ITEMS = [
    "a) Nâng cao chất lượng sinh hoạt chi bộ, thực hiện nghiêm Quy định {party_code};",
    "b) Đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh;",
    "c) Tăng cường công tác kiểm tra, giám sát và kỷ luật đảng theo Kết luận {party_code};",
    "- Phấn đấu tỷ lệ tổ chức cơ sở đảng hoàn thành tốt nhiệm vụ đạt trên {pct}%.",
]
ROMANS = ["I", "II", "III", "IV", "V", "VI", "IX", "XII", "XIII", "XX"]


def fill(template: str, rng: random.Random) -> str:
    year = rng.randint(2015, 2025)
    kinds = ["NQ", "QĐ", "CT", "KL", "HD", "KH", "QĐi"]
    return template.format(
        roman=rng.choice(ROMANS),
        n=rng.randint(1, 40),
        topic=rng.choice(TOPICS),
        topic_caps=rng.choice(TOPICS).upper(),
        date=f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{year}",
        day=rng.randint(1, 28),
        month=rng.randint(1, 12),
        code=f"{rng.randint(1, 60):02d}-{rng.choice(kinds)}/TW",
        party_code=f"{rng.randint(1, 200)}-{rng.choice(kinds)}/{rng.choice(['TU', 'BTGTW', 'HU'])}",
        state_code=f"{rng.randint(100, 3000)}/QĐ-UBND",
        count=f"{rng.randint(1000, 99999):,}".replace(",", "."),
        small=rng.randint(2, 30),
        pct=f"{rng.randint(50, 130)},{rng.randint(1, 9)}",
        decimal=f"{rng.randint(40, 120)},{rng.randint(1, 9)}",
        money=f"{rng.randint(1000, 30000):,}".replace(",", "."),
        year=year,
        y1=year - 5,
        y2=year,
        hour=rng.randint(7, 16),
        minute=rng.choice(["00", "15", "30", "45"]),
        quarter=rng.choice(["I", "II", "III", "IV"]),
    )


def generate_document(words: int, seed: int = 5) -> str:
    rng = random.Random(seed)
    lines: list[str] = []
    while sum(len(line.split()) for line in lines) < words:
        lines.append(fill(rng.choice(HEADINGS), rng))
        for _ in range(rng.randint(2, 4)):
            lines.append(fill(rng.choice(PARAGRAPHS), rng))
        if rng.random() < 0.5:
            lines += [fill(item, rng) for item in LIST_ITEMS]
    return "\n".join(lines)


class TimedEngine:
    """Wraps an engine to add up the time spent synthesising."""

    def __init__(self, engine: SpeechEngine) -> None:
        self.engine = engine
        self.name = engine.name
        self.seconds = 0.0

    def synthesize(self, text: str, *, voice: str | None = None, rate: float = 1.0) -> PcmAudio:
        start = time.perf_counter()
        try:
            return self.engine.synthesize(text, voice=voice, rate=rate)
        finally:
            self.seconds += time.perf_counter() - start


@dataclass
class Run:
    engine: str
    words: int
    chunks: int
    normalize_s: float
    wall_s: float
    cpu_s: float
    first_audio_s: float
    audio_s: float
    synthesis_s: float
    opus_bytes: int
    mp3_bytes: int


def run_pipeline(engine: SpeechEngine, text: str, normalizer: Normalizer) -> Run:
    timed = TimedEngine(engine)
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    chunks: list[SpeechChunk] = plan_document(text, normalizer)
    normalized = time.perf_counter()
    renderer = DocumentRenderer(timed)
    sizes = dict.fromkeys(AudioFormat, 0)
    first_audio = 0.0
    for increment in renderer.stream(chunks):
        if not first_audio and any(increment.values()):
            first_audio = time.perf_counter() - start
        for fmt, data in increment.items():
            sizes[fmt] += len(data)
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    assert renderer.timeline is not None
    return Run(
        engine.name,
        len(text.split()),
        len(chunks),
        normalized - start,
        wall,
        cpu,
        first_audio,
        renderer.timeline.duration_s,
        timed.seconds,
        sizes[AudioFormat.OPUS],
        sizes[AudioFormat.MP3],
    )


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished children (espeak-ng)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def encoder_speed(audio: PcmAudio) -> dict[AudioFormat, float]:
    """Seconds of audio encoded per second, per format, one thread each in turn."""
    speeds = {}
    for fmt in AudioFormat:
        encoder = StreamEncoder(fmt, audio.sample_rate)
        start = time.perf_counter()
        encoder.encode(audio)
        encoder.finish()
        speeds[fmt] = audio.duration_s / (time.perf_counter() - start)
    return speeds


def print_runs(runs: list[Run]) -> None:
    header = (
        f"{'engine':<10} {'words':>6} {'chunks':>6} {'norm s':>7} {'wall s':>8} {'CPU s':>8} "
        f"{'audio s':>8} "
        f"{'RTF':>7} {'synth RTF':>9} {'1st audio s':>11} {'opus kB':>8} {'mp3 kB':>8}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run.engine:<10} {run.words:>6} {run.chunks:>6} {run.normalize_s:>7.2f} "
            f"{run.wall_s:>8.2f} {run.cpu_s:>8.2f} {run.audio_s:>8.1f} "
            f"{run.wall_s / run.audio_s:>7.4f} "
            f"{run.synthesis_s / run.audio_s:>9.4f} {run.first_audio_s:>11.3f} "
            f"{run.opus_bytes / 1000:>8.0f} {run.mp3_bytes / 1000:>8.0f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--espeak-words", type=int, nargs="*", default=[1000, 4000])
    parser.add_argument("--piper-words", type=int, nargs="*", default=[1000])
    parser.add_argument("--piper-voices-dir", type=Path, default=None)
    parser.add_argument("--piper-voice", default=None)
    parser.add_argument("--text-file", type=Path, help="also run every engine on this document")
    args = parser.parse_args()

    load_before = os.getloadavg()
    normalizer = Normalizer()
    engines: list[tuple[SpeechEngine, list[int]]] = [(EspeakEngine(), args.espeak_words)]
    voices_dir = args.piper_voices_dir or default_piper_voices_dir()
    piper = PiperEngine(voices_dir, default_voice=args.piper_voice)
    if piper.voices():
        piper.synthesize("Warm up.")  # loading the model is not part of a render
        engines.append((piper, args.piper_words))
    else:
        print(f"(no Piper voice in {voices_dir}: piper skipped)", file=sys.stderr)

    runs: list[Run] = []
    for engine, sizes in engines:
        documents = [generate_document(words) for words in sizes]
        if args.text_file:
            documents.append(args.text_file.read_text(encoding="utf-8"))
        runs += [run_pipeline(engine, document, normalizer) for document in documents]
    print(f"load average before: {load_before}; after: {os.getloadavg()} on {os.cpu_count()} CPUs")
    print_runs(runs)

    sample = EspeakEngine().synthesize(" ".join(plan.text for plan in plan_document(
        generate_document(300), normalizer)))  # fmt: skip
    speeds = encoder_speed(sample)
    print(f"\nencoders on {sample.duration_s:.0f} s of espeak-ng speech (PyAV, one thread each):")
    for fmt, speed in speeds.items():
        print(f"  {fmt:<5} {speed:6.0f}x real time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
