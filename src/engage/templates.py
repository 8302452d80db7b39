"""The starter config ``engage init`` writes."""

STARTER_CONFIG = """\
# engage configuration. Reference: the README's "Configuration" section.

store = "engage.db"                  # the SQLite store, relative to this file
internal_domains = ["ourco.com"]     # our own mail domains: these people are owners, not customers
# owner_inactive_days = 60           # an owner with no outbound touch for this long counts as gone
# fallback_owner = "lead@ourco.com"  # who gets tasks of customers without an active owner

[sources.files]
plugin = "csv"
path = "interactions.csv"            # a file or a glob
# columns = { occurred_at = "Activity Date", email = "Contact Email" }
# timezone = "Europe/Berlin"         # for times without an offset

[sinks.todo]
plugin = "csv"
path = "follow-ups.csv"              # tasks are appended here, one row each, never twice

# [sources.crm]                      # with engage-hubspot installed
# plugin = "hubspot"
# token_env = "HUBSPOT_TOKEN"

[segments.default]
cadence_days = 30                    # longest healthy gap between two-way exchanges
feedback_days = 180

# [segments.enterprise]
# match = ["*.bigcorp.com", "acme.com"]
# cadence_days = 14
# weights = { personal = 0.2 }
"""
