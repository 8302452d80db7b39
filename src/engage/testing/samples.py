"""Sample inputs for end-to-end tests: a small CRM export and the source table that reads it.

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
