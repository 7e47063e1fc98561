"""Reading YAML: a file read again gives a tree of its own (an edit by one reader is not seen by
the next), with the line numbers problems name; a file changed on disk is read anew."""

from __future__ import annotations

from pathlib import Path

import pytest

from service_rules.problems import ContentError
from service_rules.yaml_source import line_of, read_yaml

TEXT = "cities:\n  - id: beijing\n    name: 北京\n  - id: shanghai\n    name: 上海\n"


def test_each_read_gives_its_own_tree_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "cities.yaml"
    path.write_text(TEXT, encoding="utf-8")
    first = read_yaml(path, "cities.yaml")
    first["cities"][1]["name"] = "改过"
    first["cities"].append({"id": "x"})
    second = read_yaml(path, "cities.yaml")
    assert second is not first
    assert [c["name"] for c in second["cities"]] == ["北京", "上海"]
    assert line_of(second, ("cities", 1, "name")) == 5


def test_a_changed_file_is_read_anew(tmp_path: Path) -> None:
    path = tmp_path / "cities.yaml"
    path.write_text(TEXT, encoding="utf-8")
    assert len(read_yaml(path, "cities.yaml")["cities"]) == 2
    path.write_text(TEXT + "  - id: xian\n    name: 西安\n", encoding="utf-8")
    assert [c["id"] for c in read_yaml(path, "cities.yaml")["cities"]] == [
        "beijing", "shanghai", "xian"]
    path.write_text(TEXT + "cities: again\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        read_yaml(path, "cities.yaml")
    assert "写了两次" in caught.value.problems[0].message
