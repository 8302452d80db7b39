"""The RFC 2822 message of a draft: subjects, threading headers, encodings, the key header."""

from __future__ import annotations

from email.headerregistry import Address

from hypothesis import given
from hypothesis import strategies as st
from sink_support import task

from engage_gmail.compose import (
    TASK_HEADER,
    Conversation,
    build_draft,
    decode_raw,
    encode_raw,
    message_id_for,
    reply_subject,
)

JANE = Address("Jane Doe", addr_spec="jane@acme.com")


def test_reply_subjects_get_one_re_prefix() -> None:
    """ "Re:" is added once, never stacked, and whitespace is tidied."""
    assert reply_subject("Rollout  plan") == "Re: Rollout plan"
    assert reply_subject("RE: Rollout plan") == "RE: Rollout plan"
    assert reply_subject("") == "Re:"


def test_a_reply_carries_the_thread_headers() -> None:
    """In-Reply-To is the last message; References its references plus it."""
    conversation = Conversation("t1", "<b@x>", references="<a@x>", subject="Plan")
    message = build_draft(task(), JANE, conversation=conversation, domain="ourco.com")
    assert message["In-Reply-To"] == "<b@x>"
    assert message["References"] == "<a@x> <b@x>"
    assert message["Subject"] == "Re: Plan"
    assert message[TASK_HEADER] == task().key
    assert message["Message-ID"] == message_id_for(task().key, "ourco.com")


def test_raw_is_base64url_without_plus_or_slash() -> None:
    """The raw form uses the URL-safe alphabet and decodes back to the same message."""
    message = build_draft(task(body="ÿ" * 300), JANE)
    raw = encode_raw(message)
    assert "+" not in raw and "/" not in raw
    assert decode_raw(raw).get_content().replace("\r\n", "\n") == message.get_content()


@given(
    name=st.text(min_size=1, max_size=30).filter(lambda s: s.isprintable() and s.strip() == s),
    title=st.text(min_size=1, max_size=200).filter(lambda s: s.isprintable() and s.strip()),
    body=st.text(max_size=500),
)
def test_any_name_title_and_body_survive_the_wire(name: str, title: str, body: str) -> None:
    """Whatever the text, the 7-bit wire form parses back to the same name, subject and body."""
    to = Address(name, addr_spec="zoe@acme.com")
    message = build_draft(task(title=title, body=body), to)
    wire = encode_raw(message)
    back = decode_raw(wire)
    assert back["To"].addresses[0].display_name == name
    assert back["Subject"] == " ".join(title.split())
    assert back.get_content().replace("\r\n", "\n").rstrip("\n") == body.replace(
        "\r\n", "\n"
    ).replace("\r", "\n").rstrip("\n")
