"""The reminder settings: ``config/reminders.yaml`` under version control, or the data
folder's own ``$AVTALE_HOME/reminders.yaml``; checked entry by entry when loaded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from avtale.rules.loading import Entry, read_yaml
from avtale.settings import Paths

CONFIG_FILE = Path(__file__).resolve().parent.parent / "config" / "reminders.yaml"

# The deadline types of the published mart `contract_deadlines`.
DEADLINE_TYPES = (
    "expiry",
    "notice",
    "renegotiation_window",
    "lock_in_end",
    "price_adjustment",
    "discount_end",
    "next_renewal",
)


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
    if paths is not None and (paths.home / "reminders.yaml").exists():
        return paths.home / "reminders.yaml"
    return CONFIG_FILE


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
