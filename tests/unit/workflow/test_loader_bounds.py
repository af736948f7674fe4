"""The configuration loader's bounds: a file too large, aliases that expand without end
("billion laughs"), an alias looping back to its anchor and nesting too deep are refused at
once, each as one problem naming the file; ordinary anchors keep working."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigurationError
from hub.workflow.loader import DEMO_CONFIG, MAX_BYTES, load, read_raw

LAUGHS = "\n".join(
    [
        "lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]",
        *(
            f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]"
            for i in range(1, 9)  # 10**9 strings once expanded, from a few hundred bytes
        ),
    ]
)


def _demo_with(tmp_path: Path, edit: str, extra: str = "") -> Path:
    """The demo configuration with ``edit`` replacing ``TR-${ticket.id}`` (the value of a
    ``set_field`` action) and ``extra`` appended."""
    text = DEMO_CONFIG.read_text()
    assert "value: TR-${ticket.id}" in text
    path = tmp_path / "workflow.yaml"
    path.write_text(text.replace("value: TR-${ticket.id}", edit) + extra)
    return path


def _refused(path: Path) -> list[str]:
    with pytest.raises(ConfigurationError) as refused:
        read_raw(path)
    return refused.value.problems


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "where",
    ["set_field value", "top-level section", "stage name"],
)
def test_a_billion_laughs_anywhere_is_refused_at_once(tmp_path: Path, where: str) -> None:
    body = "\n".join("  " + line for line in LAUGHS.splitlines())
    if where == "set_field value":
        path = _demo_with(
            tmp_path, "value:\n" + "\n".join("    " + line for line in body.splitlines())
        )
    elif where == "top-level section":
        path = _demo_with(tmp_path, "value: TR-${ticket.id}", "\nlaughs:\n" + body + "\n")
    else:
        path = tmp_path / "w.yaml"
        path.write_text(f"anchors:\n{body}\nticket_types:\n  t:\n    name: *l8\n")
    assert _refused(path) == [
        f"{path.name}: expands to more than 200000 values (YAML aliases repeated within each "
        "other?)"
    ]


@pytest.mark.timeout(10)
def test_an_alias_that_loops_back_to_its_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("ticket_types: &t\n  t: {name: T, again: *t}\n")
    assert _refused(path) == ["loop.yaml: a YAML alias refers to its own anchor (a loop)"]


@pytest.mark.timeout(10)
def test_nesting_too_deep_is_refused(tmp_path: Path) -> None:
    for name, depth in {"flow.yaml": 5000, "block.yaml": 70}.items():
        path = tmp_path / name
        path.write_text("a: " + "[" * depth + "]" * depth)
        (problem,) = _refused(path)
        # the loader's bound (64), or libyaml's own (1000) first
        assert problem.startswith(f"{name}: ") and "nest" in problem, problem


@pytest.mark.timeout(10)
def test_a_file_over_5_mb_is_refused_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:
        f.truncate(MAX_BYTES + 1)  # a sparse file: its size is all the loader looks at
    assert _refused(path) == [
        f"big.yaml: {MAX_BYTES + 1} bytes, more than a configuration may have ({MAX_BYTES} bytes)"
    ]


def test_a_folder_over_5_mb_in_all_is_refused(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("# " + "x" * (MAX_BYTES // 2 + 10) + "\n")
    problems = _refused(tmp_path)
    assert len(problems) == 1 and problems[0].startswith("b.yaml: ")
    assert "more than a configuration may have" in problems[0]


def test_ordinary_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    text = DEMO_CONFIG.read_text()
    shared = "assignment: {kind: group, id: edu-secretariat}"
    assert text.count(shared) >= 3
    first = text.index(shared)
    text = (
        text[:first]
        + "assignment: &secretariat {kind: group, id: edu-secretariat}"
        + text[first + len(shared) :].replace(shared, "assignment: *secretariat")
    )
    text = text.replace(
        "      scheduled:\n        name: Scheduled\n",
        "      scheduled:\n        <<: {name: Scheduled}\n",
    )
    path = tmp_path / "w.yaml"
    path.write_text(text)
    config = load(path)
    stages = config.ticket_types["edu.transcript"].stages
    assert stages["charge-failed"].assignment is not None
    assert stages["charge-failed"].assignment.id == "edu-secretariat"
    assert config.ticket_types["edu.second-call-exam"].stages["scheduled"].name == "Scheduled"
