import math

from sotay_assistant.sparse import Bm25Statistics, term_id, text_terms, token_terms


def test_terms_are_folded_syllables_and_bigrams() -> None:
    terms = text_terms("Đảng viên dự bị; đảng viên.")
    assert terms.counts["dang"] == 2
    assert terms.counts["dang vien"] == 2
    assert terms.counts["bi dang"] == 0  # no bigram across the semicolon
    assert terms.length == 6
    assert term_id("dang vien") == term_id("dang vien") != term_id("dang")


def test_query_dot_passage_is_bm25() -> None:
    passages = [text_terms(t) for t in ("chi bộ họp", "đảng viên họp họp", "đảng phí")]
    stats = Bm25Statistics()
    for terms in passages:
        stats.add(terms.ids, terms.length)
    query = token_terms(["họp"])
    vector = stats.query_vector(stats.term_weights(query))
    second = stats.passage_vector(passages[1])
    n, df, tf, dl, avgdl = 3, 2, 2, 4, 3.0
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    expected = idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / avgdl))
    assert math.isclose(vector.dot(second), expected, rel_tol=1e-9)
    assert vector.dot(stats.passage_vector(passages[2])) == 0


def test_statistics_follow_additions_and_removals() -> None:
    stats = Bm25Statistics()
    first, second = text_terms("kết nạp đảng viên"), text_terms("đảng phí")
    stats.add(first.ids, first.length)
    stats.add(second.ids, second.length)
    assert stats.document_frequency[term_id("dang")] == 2
    stats.remove(first.ids, first.length)
    assert stats.passages == 1
    assert stats.total_length == 2
    assert term_id("ket") not in stats.document_frequency
    assert stats.term_weights(token_terms(["kết", "nạp", "đảng"])) == {
        "dang": stats.idf(term_id("dang"))
    }
