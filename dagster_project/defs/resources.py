"""Resources shared by the assets: the data folder, and dbt."""

import os
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from avtale.settings import DBT_PROJECT_DIR, Paths


class AvtaleHome(dg.ConfigurableResource):
    """The data folder (`$AVTALE_HOME`): warehouse, serving copy, inbox."""

    home: str

    def paths(self) -> Paths:
        return Paths(Path(self.home).resolve()).ensure()


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    # Outside `dagster dev` nothing parses the project; do it once here.
    from dbt.cli.main import dbtRunner

    dbtRunner().invoke(
        ["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    )


@dg.definitions
def resources() -> dg.Definitions:
    home = os.environ.get("AVTALE_HOME", ".avtale")
    os.environ["AVTALE_HOME"] = str(Path(home).resolve())  # dbt reads it, from dbt/
    return dg.Definitions(
        resources={
            "avtale": AvtaleHome(home=os.environ["AVTALE_HOME"]),
            "dbt": DbtCliResource(
                project_dir=dbt_project,
                profiles_dir=str(DBT_PROJECT_DIR),
                # The dbt next to this interpreter, whether or not the venv is on PATH.
                dbt_executable=str(Path(sys.executable).parent / "dbt"),
            ),
        }
    )
