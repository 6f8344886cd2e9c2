"""What a person typed in the search box, read as PostgreSQL's websearch_to_tsquery reads it.

Words are all required; "an exact phrase" in double quotes; -word (or -"a phrase")
leaves out the posts that have it; OR between two words or phrases accepts
either. Nothing else is an operator: every other character is text, and each
word or phrase reaches SQLite's FTS5 inside double quotes, where FTS5's own
operators (NEAR, *, ^, column filters, parentheses) are only text. An unclosed
quote runs to the end, as PostgreSQL reads it.
"""

import re
from dataclasses import dataclass

MAX_QUERY_LENGTH = 200
# A double-quoted phrase (maybe unclosed), or a run of anything but spaces and quotes.
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
# What FTS5's tokenizer (unicode61) keeps of a word: letters, digits, and the
# characters of other scripts; anything else only separates words.
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Search:
    """The words and phrases to find: every group must match, any choice in a group."""

    required: tuple[tuple[str, ...], ...]
    excluded: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """Nothing to look for: no word at all, or only words to leave out."""
        return not self.required


def parse(text: str) -> Search:
    """The search ``text`` asks for, however it is written (never an error)."""
    required: list[list[str]] = []
    excluded: list[str] = []
    joining = False
    for found in _TOKEN.finditer(text):
        negated = bool(found[1] or found[3])
        words = " ".join(_WORD.findall(found[2] if found[2] is not None else found[4]))
        if found[4] == "OR" and not negated:
            joining = bool(required)
            continue
        if not words:
            continue
        if negated:
            excluded.append(words)
        elif joining:
            required[-1].append(words)
        else:
            required.append([words])
        joining = False
    return Search(tuple(tuple(group) for group in required), tuple(excluded))


def quoted(words: str) -> str:
    """Words as one FTS5 string: a phrase, whatever characters it holds."""
    return '"' + words.replace('"', '""') + '"'


def fts5_query(search: Search) -> str:
    """The FTS5 MATCH expression of a search that is not empty."""
    groups = [
        quoted(group[0]) if len(group) == 1 else "(" + " OR ".join(map(quoted, group)) + ")"
        for group in search.required
    ]
    expression = " AND ".join(groups)
    for words in search.excluded:
        expression = f"({expression}) NOT {quoted(words)}"
    return expression


def websearch_text(search: Search) -> str:
    """The search as PostgreSQL's websearch_to_tsquery reads it: the same words,
    phrases, ORs and exclusions, spelled so that both backends find the same posts."""
    groups = [" OR ".join(f'"{words}"' for words in group) for group in search.required]
    return " ".join([*groups, *(f'-"{words}"' for words in search.excluded)])
