"""The README's Configuration table and the settings class tell the same story: every setting
has a row (its variable, its default, its meaning), and every variable in the table exists."""

import re
from pathlib import Path

from pydantic import AliasChoices
from pydantic.fields import FieldInfo

import tenantry
from tenantry.settings import Settings

README = Path(tenantry.__file__).resolve().parents[2] / "README.md"


def _rows() -> list[tuple[list[str], list[str], str]]:
    """(variables, backquoted defaults, meaning) of each row of the Configuration table."""
    section = README.read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] in ("variable", "---"):
            continue
        assert len(cells) == 3, line
        rows.append(
            (re.findall(r"`([^`]+)`", cells[0]), re.findall(r"`([^`]+)`", cells[1]), cells[2])
        )
    return rows


def _variables(name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"TENANTRY_{name.upper()}"]


def _shown(default: object) -> str | None:
    """A default as the README writes it."""
    if default is None:
        return None
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def test_every_setting_is_in_the_readme_and_every_variable_there_is_a_setting() -> None:
    documented: dict[str, str | None] = {}
    for variables, defaults, meaning in _rows():
        assert meaning, variables
        # One default per variable, in order; none (e.g. "unset: ...") for a row of one.
        assert len(defaults) in (0, len(variables)), (variables, defaults)
        for i, variable in enumerate(variables):
            documented[variable] = defaults[i] if defaults else None

    settings = {
        name: (_variables(name, field), _shown(field.default))
        for name, field in Settings.model_fields.items()
    }
    missing = [
        variables[0]
        for variables, _ in settings.values()
        if not any(v in documented for v in variables)
    ]
    assert missing == []
    known = {v for variables, _ in settings.values() for v in variables}
    assert sorted(v for v in documented if v not in known) == []
    wrong = {
        v: (documented[v], default)
        for variables, default in settings.values()
        for v in variables
        if v in documented and documented[v] != default
    }
    assert wrong == {}
