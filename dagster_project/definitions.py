"""Entry point for `dagster dev` and `avtale refresh`: loads the defs/ folder."""

from pathlib import Path

import dagster as dg

from dagster_project import defs as defs_package

defs = dg.load_defs(defs_package, project_root=Path(__file__).resolve().parent.parent)
