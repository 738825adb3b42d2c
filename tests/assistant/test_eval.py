from collections import Counter

from sotay_assistant.chunking import chunk_document
from sotay_assistant.eval import (
    NONE,
    EvalQuestion,
    Outcome,
    author_of,
    load_questions,
    summarize,
)
from tests.assistant.support import demo_events, slugs_by_id


def test_every_label_names_a_passage_of_the_demo_corpus() -> None:
    slugs = slugs_by_id()
    passages = {
        f"{slugs[event.document_id]}:{chunk.anchor}"
        for event in demo_events()
        for chunk in chunk_document(event)
    }
    for question in load_questions():
        if question.in_scope:
            assert set(question.answers) <= passages, question.id


def test_the_set_is_large_split_and_has_enough_out_of_scope_questions() -> None:
    questions = load_questions()
    assert len(questions) >= 120
    assert len({q.id for q in questions}) == len(questions)
    out_of_scope = [q for q in questions if not q.in_scope]
    assert len(out_of_scope) / len(questions) >= 0.15
    assert all(q.answers == (NONE,) and q.category == "out_of_scope" for q in out_of_scope)
    per_split = Counter((q.split, q.category) for q in questions)
    for category in ("accented", "unaccented", "informal", "paraphrase", "out_of_scope"):
        assert per_split["dev", category] >= 10
        assert per_split["test", category] >= 10


def test_each_author_wrote_one_split_except_the_builders() -> None:
    splits: dict[str, set[str]] = {}
    for question in load_questions():
        splits.setdefault(author_of(question.id), set()).add(question.split)
    assert splits.pop("builders") == {"dev", "test"}
    assert splits == {
        **{author: {"dev"} for author in "befghijklmnopqrst"},
        **{author: {"test"} for author in "cd"},
    }
    assert (author_of("q820"), author_of("q821"), author_of("q3004")) == ("builders", "b", "t")


def test_summary_counts_ranks_abstentions_and_latency() -> None:
    answerable = EvalQuestion("a", "dev", "accented", "?", ("d:x",))
    other = EvalQuestion("b", "dev", "accented", "?", ("d:y",))
    unanswerable = EvalQuestion("c", "dev", "out_of_scope", "?", (NONE,))
    summary = summarize(
        [
            Outcome(answerable, ("d:x", "d:z"), False, 0.010),
            Outcome(other, ("d:z", "d:y"), True, 0.020),
            Outcome(unanswerable, ("d:z",), True, 0.030),
        ]
    )
    assert (summary.recall_at_1, summary.recall_at_5, summary.mrr) == (0.5, 1.0, 0.75)
    assert (summary.abstention_precision, summary.abstention_recall) == (0.5, 1.0)
    assert summary.answered_correctly == 0.5
    assert (summary.latency_p50_ms, summary.latency_p95_ms) == (20.0, 30.0)
