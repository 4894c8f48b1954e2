"""The layout rules of the code, read from the tree with ``ast`` (ARCHITECTURE.md).

The app is laid out by what users do: a package per task, each page in its ``pages/``
folder and holding layout only; it never touches the ORM or SQLAlchemy; modules named
``*_reads`` only read, and only ``*_actions`` and ``*_forms`` modules (besides pages)
draw the buttons and forms that write. No module anywhere imports another's private
names. Each rule is a function from a module's syntax tree to its violations, so the
planted cases below show that every rule can fail.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pytest

from avtale.settings import PROJECT_ROOT, STREAMLIT_APP, STREAMLIT_SERVER

APP = STREAMLIT_APP.parent
TASKS = ("dashboards", "operations", "agreements", "admin")
PACKAGES = ("common", *TASKS)
SOURCE_ROOTS = ("avtale", "apps", "dagster_project", "ingestion", "docgen")
ORM = ("sqlalchemy", "avtale.repository")
NOT_IN_PAGES = ("duckdb", "sqlalchemy")
# Statements, not prose: "select ... from", "insert into", "update t set", ...
SQL = re.compile(
    r"\bselect\b[\s\S]+\bfrom\b|\binsert\s+into\b|\bupdate\s+\w+\s+set\b|\bdelete\s+from\b"
    r"|\bcreate\s+(or\s+replace\s+)?(table|view)\b",
    re.IGNORECASE,
)
# The ui helpers whose click runs a write.
WRITE_BUTTONS = ("submit", "action_button")
# What a reads module may use of Streamlit: its caches.
CACHES = ("cache_data", "cache_resource")


def python_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*.py")
        if not any(part.startswith(".") or part == "__pycache__" for part in path.parts)
    )


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported(tree: ast.Module) -> Iterator[str]:
    """Every imported name, dotted: ``import a.b`` gives a.b, ``from a import b`` a.b
    (a relative import keeps its dots: ``from .x import _y`` gives .x._y)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                yield f"{module}.{alias.name}" if module.strip(".") else module + alias.name


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


# --- the rules: a module's syntax tree -> what breaks them ------------------------------


def orm_imports(tree: ast.Module) -> list[str]:
    """The app reads and writes through avtale.services, never the ORM or SQLAlchemy."""
    return [name for name in imported(tree) if within(name, ORM)]


def private_imports(tree: ast.Module) -> list[str]:
    """Another module's private names (or a private module): ``_name``, not ``__dunder__``."""
    return [
        name
        for name in imported(tree)
        if any(
            part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
            for part in name.strip(".").split(".")
        )
    ]


def data_access(tree: ast.Module) -> list[str]:
    """What a page may not do: open a database, write SQL, or cache a read of its own."""
    found = [name for name in imported(tree) if within(name, NOT_IN_PAGES)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL.search(node.value):
                found.append(f"SQL {node.value.strip()[:40]!r}")
        elif isinstance(node, ast.Attribute) and node.attr in CACHES:
            found.append(f"st.{node.attr}")
    return found


def write_buttons(tree: ast.Module) -> list[str]:
    """The calls that put a write behind a button: ``ui.submit``, ``ui.action_button``."""
    return [
        f"ui.{node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "ui"
        and node.func.attr in WRITE_BUTTONS
    ]


def drawing(tree: ast.Module) -> list[str]:
    """What a reads module may not do: draw (``st.<widget>``, the layout helpers)."""
    found = [name for name in imported(tree) if name in ("common.ui", "common.charts")]
    found += [
        f"st.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "st"
        and node.attr not in CACHES
    ]
    return found


# --- the tree ---------------------------------------------------------------------------


def app_module(path: Path) -> str:
    return path.relative_to(APP).as_posix()


def page_paths() -> list[str]:
    """The pages the frame registers (``st.Page(links.X, ...)``), as paths from its folder."""
    links = {
        target.id: node.value.value
        for node in parse(APP / "common" / "links.py").body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    pages = []
    for node in ast.walk(parse(STREAMLIT_APP)):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "st.Page":
            first = node.args[0]
            if isinstance(first, ast.Name) and first.id == "refused":
                continue  # the stand-in at the address of a page the role may not use
            assert isinstance(first, ast.Attribute), "a page is named by common/links.py"
            pages.append(links[first.attr])
    return pages


def is_page(module: str) -> bool:
    parts = PurePosixPath(module).parts
    return len(parts) == 3 and parts[1] == "pages" and parts[2] != "__init__.py"


def test_every_page_lives_in_a_task_package() -> None:
    pages = page_paths()
    assert len(pages) == 25 and len(set(pages)) == len(pages)
    for page in pages:
        task, folder, _ = PurePosixPath(page).parts
        assert task in TASKS and folder == "pages", page
        assert (APP / page).is_file(), page
    # A page's address is its file's stem: two pages with one stem would share an address.
    assert len({PurePosixPath(page).stem for page in pages}) == len(pages)
    on_disk = {app_module(path) for path in python_files(APP) if is_page(app_module(path))}
    assert on_disk == set(pages), "a page file the navigation does not open"


def test_the_app_is_its_entry_and_a_package_per_task() -> None:
    # The script, and the server that serves it with its login routes (`avtale app`).
    assert sorted(path.name for path in APP.glob("*.py")) == sorted(
        [STREAMLIT_SERVER.name, STREAMLIT_APP.name]
    )
    folders = {path.parent for path in python_files(APP)} - {APP}
    assert {folder.relative_to(APP).parts[0] for folder in folders} == set(PACKAGES)
    for folder in folders:
        init = folder / "__init__.py"
        assert init.is_file(), f"{folder} is not a package"
        docstring = ast.get_docstring(parse(init))
        assert docstring and "\n" not in docstring, f"{init}: say in one line who and what"


APP_RULES: list[tuple[str, Callable[[Path], bool], Callable[[ast.Module], list[str]]]] = [
    ("imports the ORM", lambda path: True, orm_imports),
    ("is a page that reads data itself", lambda path: is_page(app_module(path)), data_access),
    (
        "puts a write behind a button but is not a page, *_actions or *_forms",
        lambda path: (
            path != APP / "common" / "ui.py"
            and path != STREAMLIT_APP
            and not is_page(app_module(path))
            and not path.stem.endswith(("_actions", "_forms"))
        ),
        write_buttons,
    ),
    ("is a *_reads module that draws", lambda path: path.stem.endswith("_reads"), drawing),
]


@pytest.mark.parametrize(("broken", "applies", "rule"), APP_RULES, ids=[r[0] for r in APP_RULES])
def test_app_modules_keep_the_rule(
    broken: str, applies: Callable[[Path], bool], rule: Callable[[ast.Module], list[str]]
) -> None:
    checked = [path for path in python_files(APP) if applies(path)]
    assert checked, "the rule applies to no module: the tree moved"
    found = {app_module(path): rule(parse(path)) for path in checked}
    assert not {module: what for module, what in found.items() if what}, broken


# A storage class named in an instance's dagster.yaml extends Dagster's own storage by
# Dagster's design; this module does (tests/test_dagster.py catches an upgrade breaking it).
EXTENDS_DAGSTER_STORAGE = "dagster_project/instance.py"


def test_no_module_imports_anothers_private_names() -> None:
    found = {
        str(path.relative_to(PROJECT_ROOT)): private_imports(parse(path))
        for root in SOURCE_ROOTS
        for path in python_files(PROJECT_ROOT / root)
    }
    assert len(found) > 100
    assert found.pop(EXTENDS_DAGSTER_STORAGE)  # the exception is still needed, or goes
    assert not {module: names for module, names in found.items() if names}


# --- each rule catches what it is for ---------------------------------------------------

PLANTED = [
    (orm_imports, "from sqlalchemy import select", ["sqlalchemy.select"]),
    (orm_imports, "import sqlalchemy.orm", ["sqlalchemy.orm"]),
    (
        orm_imports,
        "from avtale.repository.models import Contract",
        ["avtale.repository.models.Contract"],
    ),
    (orm_imports, "from avtale import repository", ["avtale.repository"]),
    (orm_imports, "from avtale.services import contracts", []),
    (private_imports, "from ui import _outcome", ["ui._outcome"]),
    (private_imports, "from .database import _opened", [".database._opened"]),
    (private_imports, "from dagster._core.errors import X", ["dagster._core.errors.X"]),
    (private_imports, "import avtale._internal", ["avtale._internal"]),
    (private_imports, "from __future__ import annotations", []),
    (data_access, "import duckdb", ["duckdb"]),
    (data_access, "from sqlalchemy import text", ["sqlalchemy.text"]),
    (data_access, 'rows = query(s, "select month, mrr\\nfrom monthly_metrics")', ["SQL"]),
    (data_access, "@st.cache_data\ndef f(): ...", ["st.cache_data"]),
    (data_access, 'st.caption("No customers selected yet.")', []),
    (write_buttons, 'ui.submit(form, "Save", lambda: save(db))', ["ui.submit"]),
    (write_buttons, 'ui.action_button("x", "Archive", archive)', ["ui.action_button"]),
    (write_buttons, "ui.result(form)", []),
    (drawing, "st.dataframe(rows)", ["st.dataframe"]),
    (drawing, "from common import ui", ["common.ui"]),
    (drawing, "@st.cache_data(ttl=TTL)\ndef f(): ...", []),
]


@pytest.mark.parametrize(("rule", "source", "expected"), PLANTED)
def test_each_rule_catches_a_planted_violation(
    rule: Callable[[ast.Module], list[str]], source: str, expected: list[str]
) -> None:
    found = rule(ast.parse(source))
    assert [item.split(" ")[0] for item in found] == expected
