"""The operational database: customers, versioned contracts, documents, users and the audit log.

``db`` opens and migrates the database, ``models`` is the schema, ``service`` the audited
writes and the reads the app needs, ``documents`` the content-addressed file store and
``auth`` users, passwords and roles. Nothing here imports Streamlit or Dagster.
"""

# Importable from here without SQLAlchemy (~1 s), so the command line can offer them.
from avtale.vocabulary import ROLES as ROLES
