"""Address lists in every shape real headers have; nothing here raises.

One header value is scanned into tokens (words, quoted strings, comments, ``<...>``, and the
separators ``,`` ``;`` ``:``), then read entry by entry:

- ``Jane <jane@x.com>``, ``"Doe, Jane" <jane@x.com>``: the name before the angle brackets;
- ``jane@x.com``, ``Big Bug bb@bug.com`` (the words before a bare address are its name),
  ``a@x.com b@x.com`` (several bare addresses separated by spaces only);
- ``bb@bug.com (Big Bug)``: a comment after an address without a name is its name;
- groups: ``team: a@x.com, b@x.com;`` gives the members, ``undisclosed-recipients:;`` none
  (both are reported as groups, for the automated-mail rules);
- Mailman archives' ``user at example.com (Name)``, when an entry has no ``@`` at all;
- ``,`` and ``;`` both separate entries (Outlook writes ``;``); an unclosed ``<`` ends at the
  next separator, so ``Jane <j@x.com, b@x.com`` keeps both addresses;
- obsolete syntax: white space and comments around ``@`` and ``.``, routes ``<@a,@b:u@h>``.

Commas are split on *before* RFC 2047 encoded words are decoded, so a display name
``=?UTF-8?B?Rm9vLCBCYXI=?=`` decodes to ``Foo, Bar`` and stays one name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from engage_gmail.words import decode_words


@attrs.frozen
class Address:
    """One mailbox: a lower-cased ``email`` and the display name, when there is one."""

    email: str
    name: str | None = None


@attrs.frozen
class Group:
    """A named group of an address list (``team: a@x, b@x;``) and how many members it had."""

    name: str
    size: int


@attrs.frozen
class AddressList:
    """What one or more address-list header values hold: addresses (first occurrence kept)
    and groups."""

    addresses: tuple[Address, ...] = ()
    groups: tuple[Group, ...] = ()


# -- tokens ---------------------------------------------------------------------------------

_SPECIALS = '"(<,;: \t\r\n'
_SPACE = " \t\r\n"


@attrs.frozen
class _Token:
    kind: str  # word, quoted, comment, angle, sep, end, colon
    text: str
    spaced: bool = False  # white space (or a comment) came before it


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """The content of the quoted string at ``text[start]`` and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i


def read_comment(text: str, start: int) -> tuple[str, int]:
    """The content of the (nested) comment at ``text[start]`` and the index after it."""
    depth, i, out = 0, start, []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == "(":
            depth += 1
            if depth > 1:
                out.append(char)
        elif char == ")":
            depth -= 1
            if depth == 0:
                return "".join(out), i + 1
            out.append(char)
        else:
            out.append(char)
        i += 1
    return "".join(out), i


def _angle_end(text: str, start: int) -> int:
    """Where the ``<`` at ``start`` ends: its ``>``, or the next separator when it is unclosed
    or holds a separator (a route ``<@a,@b:u@h>`` keeps its commas)."""
    close = text.find(">", start)
    close = len(text) if close < 0 else close
    if text[start + 1 : start + 2] == "@":
        return close
    for sep in ",;":
        found = text.find(sep, start, close)
        if found >= 0:
            close = found
    return close


def _tokens(text: str) -> Iterator[_Token]:
    i, spaced = 0, False
    while i < len(text):
        char = text[i]
        if char in _SPACE:
            spaced, i = True, i + 1
            continue
        if char == '"':
            word, i = read_quoted(text, i)
            yield _Token("quoted", word, spaced)
        elif char == "(":
            comment, i = read_comment(text, i)
            yield _Token("comment", comment, spaced)
            spaced = True
            continue
        elif char == "<":
            end = _angle_end(text, i)
            yield _Token("angle", text[i + 1 : end], spaced)
            i = end + 1 if end < len(text) and text[end] == ">" else end
        elif char in ",;:":
            yield _Token({",": "sep", ";": "end", ":": "colon"}[char], char, spaced)
            i += 1
        else:
            j = i
            while j < len(text) and text[j] not in _SPECIALS:
                j += 1
            yield _Token("word", text[i:j], spaced)
            i = j
        spaced = False


# -- entries --------------------------------------------------------------------------------


@attrs.define
class _Chunk:
    """Words and quoted strings written together (``a.b@c``), or across obsolete white space
    around ``@`` and ``.``."""

    raw: str  # as an address would read it (quotes kept)
    shown: str  # as a display name would read it (quotes removed)
    quoted_only: bool

    def glues(self, token: _Token) -> bool:
        if not token.spaced:
            return True
        return self.raw.endswith(("@", ".")) or token.text.startswith(("@", "."))


def _items(tokens: list[_Token]) -> list[_Chunk | _Token]:
    items: list[_Chunk | _Token] = []
    for token in tokens:
        if token.kind in ("word", "quoted"):
            raw = f'"{token.text}"' if token.kind == "quoted" else token.text
            last = items[-1] if items else None
            if isinstance(last, _Chunk) and last.glues(token):
                last.raw += raw
                last.shown += token.text
                last.quoted_only = False
            else:
                items.append(_Chunk(raw, token.text, token.kind == "quoted"))
        else:
            items.append(token)
    return items


def clean_addr(text: str) -> str | None:
    """A usable lower-cased addr-spec from ``text`` (comments, white space, a route and
    angle brackets removed), or None."""
    addr = "".join(strip_comments(text).split())
    if ":" in addr:  # an obsolete route: @a,@b:user@host
        addr = addr.rsplit(":", 1)[1]
    addr = addr.strip("<>").lower()
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or domain.startswith(".") or domain.endswith("."):
        return None
    if "@" in local and not local.startswith('"'):
        return None
    return addr


def _name(words: list[str]) -> str | None:
    text = decode_words(" ".join(" ".join(words).split())).strip()
    return " ".join(text.split()) or None


def _entry(tokens: list[_Token]) -> list[Address]:
    """The addresses of one entry (the tokens between two separators)."""
    found: list[list[str | None]] = []  # [email, name] pairs, in order
    words: list[str] = []
    comments: list[str] = []
    open_: list[str | None] | None = None  # the last address, while a comment may name it
    for item in _items(tokens):
        if isinstance(item, _Token) and item.kind == "comment":
            if open_ is not None and open_[1] is None and item.text.strip():
                open_[1] = _name([item.text])
            elif item.text.strip():
                comments.append(item.text)
            open_ = None
            continue
        if isinstance(item, _Token) and item.kind == "angle":
            addr = clean_addr(item.text)
        elif isinstance(item, _Chunk) and not item.quoted_only and "@" in item.raw:
            addr = clean_addr(item.raw)
        else:
            if isinstance(item, _Chunk):
                words.append(item.shown)
            open_ = None
            continue
        name = _name(words) or (_name(comments[:1]) if comments else None)
        words, comments = [], []
        open_ = None
        if addr is not None:
            found.append([addr, name])
            open_ = found[-1] if name is None else None
    if not found:
        return _at_form(tokens)
    return [Address(str(email), name) for email, name in found]


def _at_form(tokens: list[_Token]) -> list[Address]:
    """Mailman archives' ``user at example.com (Name)``: an entry with no ``@`` at all."""
    words = [t.text for t in tokens if t.kind == "word"]
    comments = [t.text for t in tokens if t.kind == "comment" and t.text.strip()]
    for i in range(1, len(words) - 1):
        if words[i].lower() == "at" and "." in words[i + 1].strip("."):
            addr = clean_addr(f"{words[i - 1]}@{words[i + 1]}")
            if addr is not None:
                return [Address(addr, _name(words[: i - 1]) or _name(comments[:1]))]
    return []


def parse_address_list(values: Iterable[str]) -> AddressList:
    """Every usable address and every group in one or more address-list header values."""
    found: dict[str, Address] = {}
    groups: list[Group] = []
    for value in values:
        entry: list[_Token] = []
        group: str | None = None
        members = 0
        for token in [*_tokens(value), _Token("sep", ",")]:
            if token.kind == "colon":
                group = _name([t.text for t in entry if t.kind in ("word", "quoted")]) or ""
                entry, members = [], 0
                continue
            if token.kind not in ("sep", "end"):
                entry.append(token)
                continue
            addresses = _entry(entry)
            entry = []
            members += len(addresses)
            for address in addresses:
                found.setdefault(address.email, address)
            if token.kind == "end" and group is not None:
                groups.append(Group(group, members))
                group = None
        if group is not None:
            groups.append(Group(group, members))
    return AddressList(tuple(found.values()), tuple(groups))


def parse_addresses(values: Iterable[str]) -> list[Address]:
    """Every usable address in one or more address-list header values, first occurrence kept.

    Entries with no address (bare words, ``<>``, empty groups) are left out.
    """
    return list(parse_address_list(values).addresses)


def strip_comments(text: str) -> str:
    """``text`` without RFC 5322 comments (nested parentheses), quoted strings left alone."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "(":
            _, i = read_comment(text, i)
            out.append(" ")
        elif char == '"':
            _, end = read_quoted(text, i)
            out.append(text[i:end])
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out)
