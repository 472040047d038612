"""Secret-looking flags (keys, tokens, passwords) hidden in what a local run saves and logs."""

from __future__ import annotations

import re
import shlex

HIDDEN = "***"
# A flag whose name says it holds a secret: --s3_secret_access_key, --aws_session_token,
# --password, --client-secret, --api-key, --credentials ... (not --key_column or --keys_file).
_SECRET_NAME = re.compile(
    r"(secret|token|passw(or)?d|credential|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"auth|session[_-]?key)",
    re.IGNORECASE,
)


def secret_values(flags: str) -> list[str]:
    """The values of the secret-looking flags in a shell-quoted flag string."""
    try:
        words = shlex.split(flags)
    except ValueError:  # unbalanced quotes: nothing is parsed as a value
        return []
    values = []
    for i, word in enumerate(words):
        if not word.startswith("-"):
            continue
        name, equals, value = word.lstrip("-").partition("=")
        if not _SECRET_NAME.search(name):
            continue
        if not equals and i + 1 < len(words) and not words[i + 1].startswith("-"):
            value = words[i + 1]
        if value:
            values.append(value)
    return values


def hide(text: str, secrets: list[str]) -> str:
    """`text` with every occurrence of each secret replaced by ***."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text
