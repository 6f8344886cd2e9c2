"""Keeping secrets out of reports, log lines and pages."""

import re
from collections.abc import Collection, Iterable, Mapping

MASK = "[masked]"
# Email addresses too: the address typed into the password reset form must not tell
# a log reader who asked for a link (nor is an address anybody's business there).
SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|csrf|cookie|session|authorization|api[-_]?key|e-?mail",
    re.IGNORECASE,
)


def is_sensitive(key: str) -> bool:
    return SENSITIVE_KEY.search(key) is not None


def masked_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(key, MASK if is_sensitive(key) else value) for key, value in pairs]


def sensitive_values(pairs: Iterable[tuple[str, str]]) -> set[str]:
    """Values submitted under sensitive-looking keys, to be struck from any text."""
    return {value for key, value in pairs if is_sensitive(key) and value}


def config_secrets(config: Mapping[str, object]) -> set[str]:
    return {
        str(config[key])
        for key in ("SECRET_KEY", "MAIL_PASSWORD", "METRICS_TOKEN")
        if config.get(key)
    }


def strike(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text``, longest first."""
    for secret in sorted(secrets, key=len, reverse=True):
        # Very short values ("1", "on") would shred ordinary text.
        if len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


def scrub(value: object, secrets: Collection[str]) -> object:
    """A copy of JSON-like ``value``: sensitive keys masked, secrets struck from every string."""
    if isinstance(value, str):
        return strike(value, secrets)
    if isinstance(value, Mapping):
        return {
            key: MASK if isinstance(key, str) and is_sensitive(key) else scrub(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    return value
