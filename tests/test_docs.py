"""Docs stay true: every config key has a schema entry with a description and a README line."""
from __future__ import annotations

import re

import yaml

from sovereign.config import load_schema


def _keys(node, prefix=""):
    for key, value in node.items():
        path = f"{prefix}{key}"
        yield path, value
        if isinstance(value, dict):
            yield from _keys(value, path + ".")


def _schema_node(schema, dotted):
    node = schema
    for part in dotted.split("."):
        props = node.get("properties", {})
        if part in props:
            node = props[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return node


def _generic(dotted):
    """studies.gpu.question -> studies.<name>.question (names are the user's)."""
    parts = dotted.split(".")
    for i in range(1, len(parts)):
        if ".".join(parts[:i]) in GENERIC_PARENTS:
            parts[i] = "<name>"
    return ".".join(parts)


GENERIC_PARENTS = {"studies", "devices"}


def test_every_config_key_is_in_schema_and_readme(root):
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    schema = load_schema()
    readme = (root / "README.md").read_text()
    missing_schema, missing_desc, missing_readme = [], [], []
    for dotted, value in _keys(config):
        node = _schema_node(schema, dotted)
        if node is None:
            missing_schema.append(dotted)
            continue
        if not node.get("description"):
            missing_desc.append(dotted)
        generic = _generic(dotted)
        if generic.endswith("<name>") or isinstance(value, dict):
            continue  # sections and user-chosen names: their leaves are documented
        if f"`{generic}`" not in readme:
            missing_readme.append(generic)
    assert missing_schema == []
    assert missing_desc == []
    assert sorted(set(missing_readme)) == []


def test_every_schema_property_has_a_description():
    schema = load_schema()
    bad = []

    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            if not sub.get("description"):
                bad.append(f"{path}{key}")
            walk(sub, f"{path}{key}.")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}<name>.")

    walk(schema, "")
    assert bad == []


def test_readme_names_the_two_commands(root):
    readme = (root / "README.md").read_text()
    ci = (root / ".ci" / "run").read_text()
    assert re.search(r"^make run\b", readme, re.M)
    assert re.search(r"^make test\b", readme, re.M)
    assert "make test" in ci
