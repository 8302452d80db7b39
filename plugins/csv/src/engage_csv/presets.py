"""Presets: defaults for the columns, values, filters and lookups of known CRM exports.

A preset is data in the shape of the user's own keys (``columns``, ``values``, ``skip``,
``only``, ``lookups``); :func:`engage_csv.settings.build_settings` merges the user's keys
over it. Preset columns are candidates: the first header a file has is read (per row, the
first non-empty one), and a file with none of them simply lacks that field. Preset filters
apply only to files that have the header. Preset lookup files are looked for beside the
source's files; a missing one is left out (a ``required`` lookup needs at least one).

The column and value names come from each vendor's documentation, cited in the README:

- Salesforce: the Task and Event objects of the SOAP API Developer Guide / Object
  Reference, which are the headers of the weekly Data Export (``Task.csv``, ``Event.csv``,
  ``Contact.csv``, ``Lead.csv``, ``User.csv``, ``Account.csv``).
- HubSpot: the default properties of the calls, meetings, emails, notes and tasks
  engagements (``hs_timestamp`` "Activity date", ``hs_call_direction``,
  ``hs_call_disposition`` "Call outcome", ``hs_meeting_outcome``, ``hs_task_status``), by
  label (the export's headers) and by internal name.
- Pipedrive: the Activity fields of the API v1 reference (``subject``, ``type``, ``done``,
  ``due_date``, ``marked_as_done_time``, ``person_name``, ``org_name``, ``owner_name``), by
  label and by name.
"""

from __future__ import annotations

from typing import Any

_SALESFORCE: dict[str, Any] = {
    "columns": {
        "id": ["Id"],
        # Task: when it was completed, else its date; Event: its start
        "occurred_at": [
            "CompletedDateTime",
            "ActivityDateTime",
            "StartDateTime",
            "ActivityDate",
            "CreatedDate",
        ],
        "channel": ["Type", "TaskSubtype", "EventSubtype"],
        "direction": ["CallType"],
        "subject": ["Subject"],
    },
    "values": {
        "channel": {
            # Task.TaskSubtype and Event.EventSubtype
            "Task": "note",
            "Email": "email",
            "ListEmail": "email",
            "List Email": "email",
            "Cadence": "note",
            "Call": "call",
            "LinkedIn": "chat",
            "Event": "meeting",
            # the Type picklist's default values
            "Meeting": "meeting",
            "Other": "other",
            "Send Letter": "other",
            "Send Quote": "email",
        },
        "direction": {"Inbound": "inbound", "Outbound": "outbound", "Internal": "internal"},
    },
    # open tasks did not happen yet: Task.Status's default open values; deleted rows
    "skip": {
        "Status": ["Not Started", "In Progress", "Waiting on someone else", "Deferred"],
        "IsDeleted": ["true", "1"],
    },
    "lookups": {
        "AccountId": {
            "path": ["Account.csv"],
            "key": "Id",
            "fields": {"customer": "Name"},
            "required": False,
        },
        "WhoId": {
            "path": ["Contact.csv", "Lead.csv"],
            "key": "Id",
            "fields": {"email": "Email", "name": "Name", "customer": "Company"},
        },
        "OwnerId": {
            "path": ["User.csv"],
            "key": "Id",
            "fields": {"owner": "Email"},
            "required": False,
        },
    },
}

_HUBSPOT: dict[str, Any] = {
    "columns": {
        "id": ["Record ID", "hs_object_id"],
        "occurred_at": ["Activity date", "hs_timestamp", "Create date", "hs_createdate"],
        "channel": ["Activity type", "Engagement type", "hs_engagement_type"],
        "direction": [
            "Call direction",
            "hs_call_direction",
            "Email direction",
            "hs_email_direction",
        ],
        "outcome": ["Call outcome", "hs_call_disposition", "Meeting outcome", "hs_meeting_outcome"],
        "email": ["Associated Contact", "Contact email", "Email"],
        "customer": ["Associated Company", "Company name"],
        "owner": ["Activity assigned to", "hubspot_owner_id"],
        "subject": [
            "Call title",
            "hs_call_title",
            "Meeting name",
            "hs_meeting_title",
            "Email subject",
            "hs_email_subject",
            "Task title",
            "hs_task_subject",
        ],
    },
    "values": {
        "channel": {
            "Incoming email": "email",
            "Incoming_email": "email",
            "Forwarded email": "email",
            "Forwarded_email": "email",
            "Task": "note",
            "Whats app": "chat",
            "Whats_app": "chat",
            "Linkedin message": "chat",
            "Linkedin_message": "chat",
            "Physical mail": "other",
            "Physical_mail": "other",
        },
        "direction": {
            "Email": "outbound",
            "Incoming email": "inbound",
            "Incoming_email": "inbound",
            "Forwarded email": "outbound",
            "Forwarded_email": "outbound",
        },
        "outcome": {
            "Left live message": "missed",
            "Wrong number": "missed",
            "Completed": "held",
            "No show": "missed",
            "No_show": "missed",
        },
    },
    # meetings that did not take place, tasks still open
    "skip": {
        "Meeting outcome": ["Scheduled", "Rescheduled", "Canceled"],
        "hs_meeting_outcome": ["SCHEDULED", "RESCHEDULED", "CANCELED"],
        "Task status": ["Not started", "In progress", "Waiting", "Deferred"],
        "hs_task_status": ["NOT_STARTED", "IN_PROGRESS", "WAITING", "DEFERRED"],
    },
}

_PIPEDRIVE: dict[str, Any] = {
    "columns": {
        "id": ["ID", "Activity - ID", "id"],
        "occurred_at": [
            "Marked as done time",
            "Activity - Marked as done time",
            "marked_as_done_time",
            "Due date",
            "Activity - Due date",
            "due_date",
        ],
        "channel": ["Type", "Activity - Type", "type"],
        "email": ["Person - Email", "Contact person email", "email"],
        "name": ["Contact person", "Activity - Contact person", "person_name"],
        "customer": ["Organization", "Activity - Organization", "org_name"],
        "owner": ["Assigned to user", "Activity - Assigned to user", "owner_name"],
        "subject": ["Subject", "Activity - Subject", "subject"],
    },
    "values": {
        # Pipedrive's default activity types
        "channel": {
            "Task": "note",
            "Deadline": "note",
            "Lunch": "meeting",
        },
    },
    # activities not done did not happen yet
    "skip": {
        "Done": ["To do", "false", "0", "no"],
        "Activity - Done": ["To do", "false", "0", "no"],
        "done": ["false", "0", "no"],
    },
}

#: Every preset by name.
PRESETS: dict[str, dict[str, Any]] = {
    "salesforce": _SALESFORCE,
    "hubspot": _HUBSPOT,
    "pipedrive": _PIPEDRIVE,
}
