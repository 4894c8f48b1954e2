"""The resources of every run: the data folder (and the engine dbt builds on there) and
the app's operational database."""

import os
from pathlib import Path

import dagster as dg

from avtale.services.database import Database, database_at, open_database
from avtale.settings import ENGINE_ENV, Paths, paths
from avtale.settings import engine as settings_engine


class AvtaleHome(dg.ConfigurableResource):
    """The data folder: `home` if set, else `$AVTALE_HOME` as it is when the run starts.
    The engine dbt builds its warehouse on: `engine` if set, else `$AVTALE_ENGINE`
    (`duckdb` by default, or `spark`: docs/spark.md)."""

    home: str = ""
    engine: str = ""

    def warehouse_engine(self) -> str:
        """`duckdb` or `spark` (checked: an unknown name or Spark without pyspark fails)."""
        return settings_engine({ENGINE_ENV: self.engine} if self.engine else os.environ)

    def location(self) -> Paths:
        return Paths(Path(self.home).resolve()) if self.home else paths()

    def paths(self) -> Paths:
        """The data folder, its folders made (or tightened) to be the owner's alone."""
        return self.location().ensure()


class OperationalDatabase(dg.ConfigurableResource):
    """The app's database of customers, contracts, users and reminders: `url` if set, else
    `$AVTALE_DATABASE_URL`, else `avtale.db` in the data folder."""

    avtale: AvtaleHome
    url: str = ""

    def open(self) -> Database:
        """The database at the newest schema (migrated on the first open in a process)."""
        return database_at(self.url) if self.url else open_database(self.avtale.location())


@dg.definitions
def resources() -> dg.Definitions:
    avtale = AvtaleHome()
    return dg.Definitions(
        resources={"avtale": avtale, "database": OperationalDatabase(avtale=avtale)}
    )
