"""Reading YAML: a file read again gives a tree of its own (an edit by one reader is not seen by
the next), with the line numbers problems name; a file changed on disk is read anew. A tree
parsed before is read back from `.cache/yaml` by any process, the same tree with the same line
numbers; a damaged or unwritable folder only means parsing again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service_rules import load_content, yaml_source
from service_rules.problems import ContentError
from service_rules.yaml_source import line_of, read_yaml

CONTENT = Path(__file__).resolve().parents[2] / "content"

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


# -- trees kept across processes (.cache/yaml) ------------------------------------------------
@pytest.fixture
def kept_trees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder of kept trees, and no tree kept in this process's memory."""
    folder = tmp_path / "kept"
    monkeypatch.setattr(yaml_source, "YAML_CACHE", folder)
    yaml_source._pickled.cache_clear()
    yield folder
    yaml_source._pickled.cache_clear()


def as_another_process_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget the trees kept in memory, and fail if anything is parsed again."""
    yaml_source._pickled.cache_clear()

    def no_parsing(_text: str) -> object:
        raise AssertionError("parsed again")

    monkeypatch.setattr(yaml_source, "_parse", no_parsing)


def test_content_loaded_from_kept_trees_is_the_content_parsed(
        kept_trees: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = load_content(CONTENT)
    assert len(list(kept_trees.glob("*.pickle"))) == len(list(CONTENT.glob("*.yaml")))
    as_another_process_would(monkeypatch)
    kept = load_content(CONTENT)
    assert kept == parsed and kept.version == parsed.version


def test_a_problem_found_in_a_kept_tree_names_the_same_line(
        kept_trees: Path, content_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cities = content_copy / "cities.yaml"
    cities.write_text(cities.read_text(encoding="utf-8").replace("name:", "nmae:", 1),
                      encoding="utf-8")
    with pytest.raises(ContentError) as first:
        load_content(content_copy)
    as_another_process_would(monkeypatch)
    with pytest.raises(ContentError) as again:
        load_content(content_copy)
    assert first.value.problems == again.value.problems
    assert first.value.problems[0].line is not None


def test_a_damaged_kept_tree_is_parsed_again(kept_trees: Path, tmp_path: Path) -> None:
    path = tmp_path / "cities.yaml"
    path.write_text(TEXT, encoding="utf-8")
    read_yaml(path, "cities.yaml")
    (kept,) = kept_trees.glob("*.pickle")
    whole = kept.read_bytes()
    kept.write_bytes(whole[: len(whole) // 2])
    yaml_source._pickled.cache_clear()
    tree = read_yaml(path, "cities.yaml")
    assert [c["id"] for c in tree["cities"]] == ["beijing", "shanghai"]
    assert line_of(tree, ("cities", 1, "name")) == 5
    assert kept.read_bytes() == whole


def test_a_file_with_a_syntax_error_is_not_kept(kept_trees: Path, tmp_path: Path) -> None:
    path = tmp_path / "cities.yaml"
    path.write_text("cities:\n  - id: beijing\n   name: [北京\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ContentError) as caught:
            read_yaml(path, "cities.yaml")
        assert caught.value.problems[0].line is not None
    assert not kept_trees.exists() or list(kept_trees.iterdir()) == []


def test_a_folder_that_cannot_be_written_only_costs_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder would go")
    monkeypatch.setattr(yaml_source, "YAML_CACHE", blocker / "kept")
    yaml_source._pickled.cache_clear()
    path = tmp_path / "cities.yaml"
    path.write_text(TEXT, encoding="utf-8")
    assert len(read_yaml(path, "cities.yaml")["cities"]) == 2
    yaml_source._pickled.cache_clear()
