"""Query vectors: repeated query texts are embedded once (per embedder, bounded); batches pad little."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from core.search.embed import BATCH, PAD_SLACK, QueryVectorCache, Vectors, _batches


class CountingEmbedder:
    """A stand-in model: one-hot-ish vectors from the text's length; records what it was asked to embed."""

    name = "counting"
    dimension = 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> Vectors:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, len(text) % self.dimension] = 1.0
        return out


def test_a_repeated_query_is_embedded_once() -> None:
    cache, model = QueryVectorCache(size=8), CountingEmbedder()
    first = cache.embed(model, ["namenode heap", "ab"])
    again = cache.embed(model, ["ab", "namenode heap", "abc"])
    assert model.calls == [["namenode heap", "ab"], ["abc"]]
    assert np.array_equal(again[0], first[1])
    assert np.array_equal(again[1], first[0])
    assert np.array_equal(again, model.embed(["ab", "namenode heap", "abc"]))


def test_the_oldest_queries_make_room_and_embedders_do_not_share() -> None:
    cache, model, other = QueryVectorCache(size=2), CountingEmbedder(), CountingEmbedder()
    cache.embed(model, ["a1"])
    cache.embed(model, ["b22"])
    cache.embed(model, ["a1"])  # used again: now the newest
    cache.embed(model, ["c333"])  # evicts b22
    cache.embed(model, ["a1", "b22"])
    assert model.calls == [["a1"], ["b22"], ["c333"], ["b22"]]
    cache.embed(other, ["a1"])
    assert other.calls == [["a1"]]


def test_returned_vectors_are_copies() -> None:
    cache, model = QueryVectorCache(), CountingEmbedder()
    cache.embed(model, ["q"])[0][:] = 7.0
    assert cache.embed(model, ["q"])[0].max() == 1.0


@given(st.lists(st.integers(0, 256), max_size=200))
def test_batches_cover_every_text_once_and_bound_the_padding(lengths: list[int]) -> None:
    batches = _batches(lengths)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert 1 <= len(batch) <= BATCH
        if len(batch) > 1:
            padded = max(lengths[i] for i in batch) * len(batch)
            assert padded <= PAD_SLACK * sum(lengths[i] for i in batch)


def test_texts_of_one_length_fill_whole_batches() -> None:
    assert [len(b) for b in _batches([200] * 70)] == [BATCH, BATCH, 6]
    assert _batches([10, 250]) == [[0], [1]]  # a short line is not padded to a long one
