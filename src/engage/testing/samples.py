"""Sample inputs for end-to-end tests: a small CRM export and the source table that reads it,
and a larger seeded export (:func:`activity_export`) for tests that need volume.

A sink's end-to-end test needs touchpoints to plan tasks from: write the export into a
:class:`~engage.testing.Project` and put :data:`CRM_EXPORT_SOURCE` before the sink's table::

    project = Project(tmp_path, plugins=("csv", "myplugin"))
    project.write(CRM_EXPORT_FILE, CRM_EXPORT)
    project.config(CRM_EXPORT_SOURCE + '\\n[sinks.todo]\\nplugin = "mysink"\\n')
    run = project.sync(as_of=CRM_EXPORT_AS_OF)  # tasks for Jane at acme.com and for Jo

The table is read by the CSV plugin, so such a test needs ``engage-csv`` installed and
``"csv"`` among the project's plugins.
"""

from __future__ import annotations

import random
import time

#: The export's file name in the project, as :data:`CRM_EXPORT_SOURCE` names it.
CRM_EXPORT_FILE = "export.csv"

#: The export's header row: the column names a CRM's activity export uses.
CRM_EXPORT_HEADER = "Activity Date,Contact Email,Name,Type,Direction,Rep\n"

#: Its rows: a meeting with Jane (acme.com) last June, her email in February waiting for an
#: answer from her rep carol@ourco.com, and an email from Jo, at a personal address.
CRM_EXPORT_ROWS = (
    "2025-06-02 10:00,jane@acme.com,Jane Doe,Meeting,out,carol@ourco.com\n",
    "2026-02-20 09:00,jane@acme.com,Jane Doe,Email,in,carol@ourco.com\n",
    "2026-02-27 09:00,jo@gmail.com,Jo,email,in,\n",
)

#: The whole file: the header and the rows.
CRM_EXPORT = CRM_EXPORT_HEADER + "".join(CRM_EXPORT_ROWS)

#: The moment to sync at, a few days after the last row.
CRM_EXPORT_AS_OF = "2026-03-01T09:00:00+00:00"

#: The ``[sources.export]`` table reading the export with the CSV plugin. It ends inside the
#: table, so lines added right after it (``strict = true``) are the source's options.
CRM_EXPORT_SOURCE = f"""[sources.export]
plugin = "csv"
path = "{CRM_EXPORT_FILE}"
columns = {{ occurred_at = "Activity Date", email = "Contact Email", channel = "Type", owner = "Rep" }}
"""


#: The columns of :func:`activity_export`'s rows (the small export's, less ``Name``); the
#: source table of :data:`CRM_EXPORT_SOURCE` reads them.
ACTIVITY_HEADER = ("Activity Date", "Contact Email", "Type", "Direction", "Rep")


def activity_export(seed: int, customers: int, per_customer: tuple[int, int]) -> list[list[str]]:
    """A larger export, the same for the same arguments: ``customers`` contacts
    (``annN@cNN.com``, each at a company of their own, with rep carol@ourco.com, or
    dave@ourco.com for every third), each with a number of activities drawn from
    ``per_customer`` (inclusive) at random times during 2025 and early 2026 (days 0 to 420
    from 2025-01-01, 08:00 to 17:00 UTC), half of them emails.

    Each row has the :data:`ACTIVITY_HEADER` columns; write them with :mod:`csv`.
    """
    rng = random.Random(seed)
    rows = []
    for number in range(customers):
        contact = f"ann{number}@c{number:02d}.com"
        rep = "carol@ourco.com" if number % 3 else "dave@ourco.com"
        for _ in range(rng.randint(*per_customer)):
            day = rng.randint(0, 420)
            moment = time.gmtime(1_735_689_600 + day * 86_400 + rng.randint(8, 17) * 3600)
            rows.append(
                [
                    time.strftime("%Y-%m-%d %H:%M", moment),
                    contact,
                    rng.choice(["Email", "Email", "Call", "Meeting"]),
                    rng.choice(["in", "out"]),
                    rep,
                ]
            )
    return rows
