"""Calendar exports for the tests, as Google Calendar and Outlook write them."""

from __future__ import annotations

#: Google Calendar: UTC times, the calendar's zone named, a folded description, a cancelled
#: meeting, an internal one, an all-day event, a repeating one.
GOOGLE = """\
BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
X-WR-CALNAME:carol@ourco.com
X-WR-TIMEZONE:Europe/Paris
BEGIN:VEVENT
DTSTART:20260210T150000Z
DTEND:20260210T153000Z
UID:7kukuqrfedlm2f9t@google.com
ORGANIZER;CN=Carol:mailto:carol@ourco.com
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Jane Roe;X-NUM-GUESTS=0:mailto:jane@acme.com
ATTENDEE;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED;CN=carol@ourco.com:mailto:carol@ourco.com
DESCRIPTION:Agenda:\\n- rollout\\, phase 2\\n- pricing; renewal
  date
STATUS:CONFIRMED
SUMMARY:Acme\\, quarterly review
END:VEVENT
BEGIN:VEVENT
DTSTART:20260212T090000Z
DTEND:20260212T100000Z
UID:cancelled-1@google.com
ORGANIZER:mailto:carol@ourco.com
ATTENDEE:mailto:jane@acme.com
STATUS:CANCELLED
SUMMARY:Acme sync (cancelled)
END:VEVENT
BEGIN:VEVENT
DTSTART:20260213T090000Z
DTEND:20260213T093000Z
UID:standup-1@google.com
ORGANIZER:mailto:carol@ourco.com
ATTENDEE:mailto:dave@ourco.com
SUMMARY:Team standup
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20260216
DTEND;VALUE=DATE:20260217
UID:holiday-1@google.com
ATTENDEE:mailto:jane@acme.com
SUMMARY:Acme office closed
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=Europe/Paris:20260105T100000
DTEND;TZID=Europe/Paris:20260105T103000
RRULE:FREQ=WEEKLY;BYDAY=MO
UID:weekly-globex@google.com
ORGANIZER;CN="Bob, Globex":mailto:bob@globex.io
ATTENDEE:MAILTO:Carol@OurCo.com
SUMMARY:Globex weekly
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:This is an event reminder
TRIGGER:-P0DT0H10M0S
END:VALARM
END:VEVENT
END:VCALENDAR
"""

#: Outlook: Windows zone names, CRLF line ends, a changed occurrence, a floating time, an
#: event without a UID (a bad record).
OUTLOOK = (
    "BEGIN:VCALENDAR\r\n"
    "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n"
    "VERSION:2.0\r\n"
    "BEGIN:VTIMEZONE\r\n"
    "TZID:W. Europe Standard Time\r\n"
    "BEGIN:STANDARD\r\nDTSTART:16011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\n"
    'ORGANIZER;CN="Jo Initech":mailto:jo@initech.com\r\n'
    "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:carol@ourco.com\r\n"
    'DTSTART;TZID="W. Europe Standard Time":20260203T140000\r\n'
    'DTEND;TZID="W. Europe Standard Time":20260203T150000\r\n'
    "UID:040000008200E00074C5B7101A82E00800000000A0F1@outlook\r\n"
    "SUMMARY;LANGUAGE=en-us:Initech onboarding\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "ORGANIZER:mailto:carol@ourco.com\r\n"
    "ATTENDEE:mailto:jo@initech.com\r\n"
    "RECURRENCE-ID;TZID=Pacific Standard Time:20260119T090000\r\n"
    "DTSTART;TZID=Pacific Standard Time:20260120T090000\r\n"
    "DTEND;TZID=Pacific Standard Time:20260120T093000\r\n"
    "UID:040000008200E00074C5B7101A82E00800000000B0F2@outlook\r\n"
    "SUMMARY:Initech check-in (moved)\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "ORGANIZER:mailto:carol@ourco.com\r\n"
    "ATTENDEE:mailto:kim@initech.com\r\n"
    "DTSTART:20260121T160000\r\n"
    "UID:floating-1@outlook\r\n"
    "SUMMARY:Initech call\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "ORGANIZER:mailto:carol@ourco.com\r\n"
    "ATTENDEE:mailto:jo@initech.com\r\n"
    "DTSTART:20260122T160000Z\r\n"
    "SUMMARY:No uid\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)
