"""The dbt project as Dagster sees it, and what its manifest says.

The manifest is prepared once, never when the definitions are imported: `dagster dev`
prepares it on every load (`prepare_if_dev`), everything else uses the one that
`make setup` prepared with dagster-dbt's deployment command (PREPARE below), and stops
with that command in its message when the manifest is missing or older than the project.
Importing this file checks nothing, so that command can load it to find the project.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from dagster import AssetKey
from dagster_dbt import DbtProject

from avtale.settings import DBT_PROJECT_DIR

PREPARE = "dagster-dbt project prepare-and-package --file dagster_project/project.py"
FIX = f"run `make setup` or `{PREPARE}`"
# What dbt writes into the project itself (and its hidden `.user.yml`): not sources.
GENERATED = {"target", "logs", "dbt_packages"}
MARTS_SCHEMA = "marts"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


class ManifestNotPreparedError(RuntimeError):
    """The dbt manifest is missing or older than the dbt project."""


def prepared_manifest() -> Path:
    """The manifest's path, once it is known to describe the dbt project as it is now."""
    return checked_manifest(dbt_project.manifest_path, DBT_PROJECT_DIR)


def checked_manifest(manifest: Path, project_dir: Path) -> Path:
    """`manifest`, unless it is missing or a file of the project changed after it."""
    if not manifest.exists():
        raise ManifestNotPreparedError(f"No dbt manifest at {manifest}: {FIX}.")
    built = manifest.stat().st_mtime
    changed = next((f for f in _sources(project_dir) if f.stat().st_mtime > built), None)
    if changed is not None:
        raise ManifestNotPreparedError(
            f"The dbt manifest is older than {changed.relative_to(project_dir)}: run `{PREPARE}`."
        )
    return manifest


def _sources(project_dir: Path) -> list[Path]:
    def source(path: Path) -> bool:
        parts = path.relative_to(project_dir).parts
        return parts[0] not in GENERATED and not path.name.startswith(".")

    return [f for f in project_dir.rglob("*") if f.is_file() and source(f)]


@cache
def manifest() -> dict[str, Any]:
    """The prepared manifest, read once per process."""
    return dict(json.loads(prepared_manifest().read_text(encoding="utf-8")))


def mart_names() -> list[str]:
    """The models of the `marts` schema: what a refresh publishes."""
    return sorted(
        node["name"]
        for node in manifest()["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == MARTS_SCHEMA
    )


def mart_columns() -> dict[str, list[tuple[str, str]]]:
    """Each mart's columns with the types of its contract, in order (what publishing a
    build made elsewhere than DuckDB casts to: avtale.serving.publish_parquet)."""
    return {
        node["name"]: [(column["name"], column["data_type"]) for column in node["columns"].values()]
        for node in manifest()["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == MARTS_SCHEMA
    }


@dataclass(frozen=True)
class SourceFreshness:
    """A dbt source's freshness rule: when its data was last loaded, and how old it may be."""

    key: AssetKey
    loaded_at_query: str
    warn_after: timedelta


def source_freshness() -> list[SourceFreshness]:
    """The sources whose yml sets `freshness: warn_after`, keyed as dagster-dbt keys them
    (source name, table name: the ingestion assets' keys)."""
    rules = []
    for source in manifest()["sources"].values():
        warn = (source.get("freshness") or {}).get("warn_after") or {}
        field = source.get("loaded_at_field")
        query = source["config"].get("loaded_at_query") or (
            field and f"select max({field}) from {source['relation_name']}"
        )
        if not warn.get("count") or not query:
            continue
        rules.append(
            SourceFreshness(
                key=AssetKey([source["source_name"], source["name"]]),
                loaded_at_query=query,
                warn_after=timedelta(**{f"{warn['period']}s": warn["count"]}),
            )
        )
    return sorted(rules, key=lambda rule: rule.key.to_user_string())
