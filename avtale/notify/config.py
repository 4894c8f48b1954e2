"""The reminder settings: ``config/reminders.yaml`` under version control, or the data
folder's own ``$AVTALE_HOME/reminders.yaml``; checked entry by entry when loaded. Part of
``avtale.settings.Settings``, which checks them when a command or the app starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from avtale.rules.loading import CONFIG_DIR, Entry, config_file, read_yaml
from avtale.vocabulary import DEADLINE_TYPES

if TYPE_CHECKING:  # avtale.settings builds its Settings from this module
    from avtale.settings import Paths

FILE_NAME = "reminders.yaml"
CONFIG_FILE = CONFIG_DIR / FILE_NAME


@dataclass(frozen=True)
class ReminderConfig:
    lead_days: Mapping[str, tuple[int, ...]]
    escalate_after_days: int
    fallback_recipient: str
    version: int = 1

    @property
    def horizon(self) -> int:
        """The longest lead time: deadlines further ahead need nothing yet."""
        return max((max(days) for days in self.lead_days.values() if days), default=0)


def config_path(paths: Paths | None = None) -> Path:
    return config_file(paths.home if paths is not None else None, FILE_NAME)


def load_config(path: Path | str | None = None) -> ReminderConfig:
    """The settings in ``path`` (default: the version-controlled file); a mistake raises
    ``RuleError`` naming the file and the entry."""
    source, content = read_yaml(path or CONFIG_FILE)
    fields = Entry(source, "", content).fields(
        required=("lead_days", "escalate_after_days", "fallback_recipient"),
        optional=("version",),
    )
    lead_days: dict[str, tuple[int, ...]] = {}
    for deadline_type in fields["lead_days"].fields(optional=DEADLINE_TYPES).values():
        days = [item.integer(minimum=0) for item in deadline_type.items(allow_empty=True)]
        if len(set(days)) != len(days):
            deadline_type.fail("lists a lead time twice")
        lead_days[deadline_type.path.rsplit(".", 1)[-1]] = tuple(sorted(days, reverse=True))
    return ReminderConfig(
        lead_days=lead_days,
        escalate_after_days=fields["escalate_after_days"].integer(minimum=1),
        fallback_recipient=fields["fallback_recipient"].text(max_length=64).lower(),
        version=fields["version"].integer(minimum=1) if "version" in fields else 1,
    )
