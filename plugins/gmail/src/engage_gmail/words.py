"""Header text from bytes (UTF-8, stray bytes as Latin-1) and RFC 2047 encoded words; never an error."""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("engage-latin1", _latin1_fallback)


def decode_bytes(raw: bytes) -> str:
    """Header bytes as text: UTF-8, with any byte that is not valid UTF-8 read as Latin-1."""
    return raw.decode("utf-8", errors="engage-latin1")


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, text = match.group(1).split("*")[0], match.group(2).upper(), match.group(3)
    try:
        if encoding == "B":
            data = base64.b64decode(text + "=" * (-len(text) % 4))
        else:
            data = quopri.decodestring(text.replace("_", " ").encode("ascii"), header=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return match.group(0)
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="engage-latin1")


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words (``=?UTF-8?B?...?=``) wherever they appear; keep the rest."""
    if "=?" not in text:
        return text
    return _ENCODED_WORD.sub(_decode_word, _BETWEEN_WORDS.sub(r"\1\2", text))
