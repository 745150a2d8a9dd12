"""The one masking function for personal data in free text.

Every stored reason, log record and exception text that ecrm produces from something an
outside system said (a gateway's error body, an SMTP reply, an exception message) goes through
:func:`redact` first, so a phone number, an e-mail address or a credential never lands in an
outbox row, a log file or a traceback.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

from ecrm._contact import mask_email, mask_phone

__all__ = ["redact"]

# a mainland mobile, optionally +86 / 0086 / 86, with spaces, dashes or dots between groups,
# not glued to other digits (an order id 202412011380013800099 is left alone); ASCII or
# full-width digits (Chinese text often has １３８…)
_DIGIT: Final = "[0-9\uff10-\uff19]"
_PHONE: Final = re.compile(
    rf"(?<!{_DIGIT})(?:(?:[+\uff0b]|[0\uff10]{{2}})?[8\uff18][6\uff16][\s.-]?)?"
    rf"([1\uff11][3-9\uff13-\uff19]{_DIGIT})[\s.-]?({_DIGIT}{{4}})[\s.-]?({_DIGIT}{{4}})"
    rf"(?!{_DIGIT})"
)
_EMAIL: Final = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# key=value credentials in URLs, query strings and JSON-ish bodies
_CREDENTIAL: Final = re.compile(
    r"(?i)((?:api[_-]?key|apikey|access[_-]?key(?:[_-]?(?:id|secret))?|secret(?:[_-]?key)?|"
    r"token|password|passwd|pwd|signature|sign|authorization)\"?\s*[=:]\s*\"?"
    r"(?:(?:Bearer|Basic|Token)\s+)?)"
    r"([^\s\"&,;}]+)"
)


def redact(text: str, *, secrets: Iterable[str] = ()) -> str:
    """``text`` with phone numbers, e-mail addresses and credentials masked.

    Phones become ``138****5678`` and e-mails ``a***@example.com`` (the forms ecrm shows
    everywhere); ``key=value`` credentials (``apikey``, ``token``, ``password``, ``secret``,
    ``signature``, ``Authorization``) and every string in ``secrets`` become ``***``.

    >>> redact("provider said: bad number +86 138-1234-5678 / alice@example.com")
    'provider said: bad number 138****5678 / a***@example.com'
    >>> redact("GET /send?apikey=s3cr3t&to=1")
    'GET /send?apikey=***&to=1'
    >>> redact("号码＋８６１３８１２３４５６７８无效")
    '号码138****5678无效'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}***", text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(_ascii_digits(m.group(1, 2, 3))), text)


def _ascii_digits(groups: tuple[str | None, ...]) -> str:
    return "".join(str(unicodedata.digit(c)) for g in groups if g for c in g)
