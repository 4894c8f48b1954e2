"""The operational database: customers, versioned contracts, documents, users and the audit log.

``db`` opens and migrates the database, ``models`` is the schema, ``service`` the audited
writes and the reads the app needs, ``documents`` the content-addressed file store and
``auth`` users, passwords and roles. Nothing here imports Streamlit or Dagster.
"""

# Here rather than in models.py so the command line can offer them without importing
# SQLAlchemy (~1 s) on every call.
ROLES = ("leadership", "analyst", "sales_ops", "admin")
