from sotay_assistant.chunking import chunk_document
from sotay_assistant.memory import (
    MAX_PER_PASSAGE,
    KnownQuestion,
    QuestionMemory,
    packaged_questions,
    passage_key,
    question_grams,
    read_known_questions,
    write_known_questions,
)
from tests.assistant.support import demo_events

DUES = passage_key("1. Đảng viên đóng đảng phí hằng tháng tại chi bộ.")
EXEMPTION = passage_key("2. Đảng viên ốm đau dài ngày được xét miễn đảng phí.")


def remembered(*known: tuple[str, str, str]) -> QuestionMemory:
    memory = QuestionMemory()
    for source, passage, question in known:
        memory.add(source, passage, question_grams(question))
    return memory


def test_a_passage_is_known_by_its_text() -> None:
    assert passage_key("1. Đảng viên đóng đảng phí hằng tháng tại chi bộ.") == DUES
    assert DUES != EXEMPTION


def test_grams_are_folded_syllables_and_their_bigrams() -> None:
    assert question_grams("Đóng đảng phí") == {"dong", "dang", "phi", "dong dang", "dang phi"}
    assert question_grams("dong dang phi") == question_grams("Đóng đảng phí")
    assert question_grams("") == frozenset()


def test_a_question_repeating_a_known_one_comes_closest_to_the_passage_that_answered_it() -> None:
    memory = remembered(
        ("a", DUES, "đóng đảng phí ở đâu"),
        ("b", DUES, "mỗi tháng nộp đảng phí cho ai"),
        ("c", EXEMPTION, "ốm lâu ngày có được miễn đảng phí không"),
    )
    asked = question_grams("đóng đảng phí ở đâu vậy")
    # 9 grams shared of the 11 in either question
    assert round(memory.asked_before(asked, DUES), 3) == round(9 / 11, 3)
    assert 0 < memory.asked_before(asked, EXEMPTION) < 0.2
    assert memory.asked_before(asked, passage_key("another passage")) == 0.0
    assert memory.asked_before(question_grams("đóng đảng phí ở đâu"), DUES) == 1.0
    assert memory.asked_before(question_grams("bầu cử cấp ủy"), DUES) == 0.0


def test_the_passages_a_question_repeats_the_known_questions_of_most_come_first() -> None:
    memory = remembered(
        ("a", DUES, "đóng đảng phí ở đâu"),
        ("b", DUES, "mỗi tháng nộp đảng phí cho ai"),
        ("c", EXEMPTION, "ốm lâu ngày có được miễn đảng phí không"),
        ("d", EXEMPTION, "miễn đảng phí"),
    )
    asked = question_grams("ốm thì có được miễn đảng phí không")
    found = memory.most_asked(asked, 5)
    assert [passage for passage, _ in found] == [EXEMPTION, DUES]
    assert [overlap for _, overlap in found] == [
        memory.asked_before(asked, EXEMPTION),
        memory.asked_before(asked, DUES),
    ]
    assert memory.most_asked(asked, 1) == found[:1]
    assert memory.most_asked(question_grams("bầu cử cấp ủy"), 5) == []
    assert memory.most_asked(frozenset(), 5) == []


def test_the_passages_most_asked_follow_what_is_added_and_forgotten() -> None:
    memory = remembered(("a", DUES, "đóng đảng phí ở đâu"))
    asked = question_grams("được miễn đảng phí không")
    assert [passage for passage, _ in memory.most_asked(asked, 2)] == [DUES]
    memory.add("b", EXEMPTION, question_grams("có được miễn đảng phí không"))
    assert [passage for passage, _ in memory.most_asked(asked, 2)] == [EXEMPTION, DUES]
    memory.forget(lambda source: source == "b")
    assert [passage for passage, _ in memory.most_asked(asked, 2)] == [DUES]
    prepared = memory.prepare()
    memory.forget(lambda source: source == "nobody")
    assert memory.prepare() is prepared  # built again only when something changed


def test_a_question_is_known_once_per_passage_and_an_empty_one_not_at_all() -> None:
    memory = remembered(("a", DUES, "đóng đảng phí ở đâu"), ("a", EXEMPTION, "miễn đảng phí"))
    memory.add("a", DUES, question_grams("something else entirely"))
    memory.add("b", DUES, frozenset())
    assert len(memory) == 2
    assert memory.knows("a", DUES)
    assert memory.knows("a", EXEMPTION)
    assert not memory.knows("b", DUES)
    assert memory.asked_before(question_grams("đóng đảng phí ở đâu"), DUES) == 1.0


def test_a_passage_keeps_the_first_known_questions_up_to_a_bound() -> None:
    memory = QuestionMemory()
    added = [memory.add(str(n), DUES, question_grams(f"câu hỏi {n}")) for n in range(150)]
    assert sum(added) == MAX_PER_PASSAGE
    assert added[MAX_PER_PASSAGE - 1]
    assert not added[MAX_PER_PASSAGE]
    assert memory.add("other", EXEMPTION, question_grams("miễn đảng phí"))


def test_questions_are_forgotten_or_left_out_by_their_source() -> None:
    memory = remembered(
        ("eval:q1", DUES, "đóng đảng phí ở đâu"), ("answer:1", EXEMPTION, "miễn đảng phí")
    )
    rated = memory.without(lambda source: source.startswith("eval:"))
    assert len(rated) == 1
    assert rated.knows("answer:1", EXEMPTION)
    assert len(memory) == 2
    memory.forget(lambda source: source == "answer:1")
    assert len(memory) == 1
    assert not memory.knows("answer:1", EXEMPTION)
    assert memory.asked_before(question_grams("miễn đảng phí"), EXEMPTION) == 0.0


def test_known_questions_are_written_and_read_back_as_tab_separated_rows() -> None:
    known = [
        KnownQuestion("eval:q1", "đóng đảng phí\tở đâu?", DUES),
        KnownQuestion("eval:q2", 'Đảng viên "dự bị" có được biểu quyết không', EXEMPTION),
    ]
    text = write_known_questions(known)
    assert text.splitlines()[0] == "source\tpassage\tquestion"
    assert read_known_questions(text) == [
        KnownQuestion("eval:q1", "đóng đảng phí ở đâu?", DUES),
        known[1],
    ]


def test_the_packaged_questions_are_about_passages_of_the_demo_corpus() -> None:
    corpus = {passage_key(c.text) for event in demo_events() for c in chunk_document(event)}
    packaged = packaged_questions()
    assert len(packaged) > 900
    assert all(q.source.startswith("eval:") and q.question for q in packaged)
    assert {q.passage for q in packaged} <= corpus
