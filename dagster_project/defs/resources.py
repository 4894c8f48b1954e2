"""Resources shared by the assets: the data folder, and the dbt project."""

from pathlib import Path

import dagster as dg
from dagster_dbt import DbtProject

from avtale.settings import DBT_PROJECT_DIR, Paths, paths


class AvtaleHome(dg.ConfigurableResource):
    """The data folder: `home` if set, else `$AVTALE_HOME` as it is when the run starts."""

    home: str = ""

    def paths(self) -> Paths:
        return (Paths(Path(self.home).resolve()) if self.home else paths()).ensure()


def _manifest_is_stale(manifest: Path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = ("models", "macros", "seeds", "tests", "dbt_project.yml", "profiles.yml")
    return any(
        f.stat().st_mtime > built
        for name in sources
        for f in (
            [DBT_PROJECT_DIR / name]
            if name.endswith(".yml")
            else (DBT_PROJECT_DIR / name).rglob("*")
        )
    )


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
if _manifest_is_stale(dbt_project.manifest_path):
    # Outside `dagster dev` nothing parses the project: do it when models changed.
    from dbt.cli.main import dbtRunner

    dbtRunner().invoke(
        ["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"avtale": AvtaleHome()})
