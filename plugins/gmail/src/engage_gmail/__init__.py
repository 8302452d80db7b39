"""engage-gmail: the Gmail source (API and Takeout mailbox), the Gmail drafts sink and the Google Tasks sink."""

from __future__ import annotations

from engage.hookspecs import RegisterSink, RegisterSource, hookimpl


@hookimpl
def engage_register_sources(register: RegisterSource) -> None:
    """Register ``gmail`` (the Gmail API, or Takeout mbox files with ``mbox = ...``)."""
    from engage_gmail.sources import GmailSource

    register("gmail", GmailSource)


@hookimpl
def engage_register_sinks(register: RegisterSink) -> None:
    """Register ``gmail`` (draft follow-ups) and ``gtasks`` (Google Tasks)."""
    from engage_gmail.sinks import GmailDraftsSink, GoogleTasksSink

    register("gmail", GmailDraftsSink)
    register("gtasks", GoogleTasksSink)
