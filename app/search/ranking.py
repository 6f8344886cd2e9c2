"""SQLite's ranking of the candidates: how often, and how densely, each post holds the words.

BM25's term-frequency part (its k1 and b, as FTS5's own bm25 has them), scored in
Python from the words FTS5 marked (``highlight``), without bm25's per-word weights:
FTS5 finds how many posts hold each word by reading the word's whole entry list,
on every search, a cost that grows with the posts (a word in every post made a
three-word search 4.5 ms at 100,000 posts; docs/search.md). A search's posts all
hold its words (the words must all be there, or one of an OR), so the weights
would mostly reorder posts of unequal counts of different words. PostgreSQL's
``ts_rank`` has no such weights either: both backends rank alike.
"""

import re
from collections.abc import Sequence
from typing import Any

from app.search.queries import START, STOP

K1 = 1.2
B = 0.75
MARKED = re.compile(f"{START}(.*?){STOP}", re.S)


def best_first(rows: Sequence[Any]) -> list[Any]:
    """``rows`` (``id``, ``marked``: the text with its matched words marked) best first;
    of two alike, the newer first."""
    if not rows:
        return []
    found = [[word.casefold() for word in MARKED.findall(row.marked)] for row in rows]
    lengths = [len(row.marked) - 2 * len(words) for row, words in zip(rows, found, strict=True)]
    average = sum(lengths) / len(lengths) or 1
    scored = []
    for row, words, length in zip(rows, found, lengths, strict=True):
        norm = K1 * (1 - B + B * length / average)
        score = sum(n * (K1 + 1) / (n + norm) for n in map(words.count, set(words)))
        scored.append((score, row.id, row))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [row for _, _, row in scored]
