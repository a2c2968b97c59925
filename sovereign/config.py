"""Load the workflow config, fill schema defaults, validate it, and hash it.

Validation runs before any rule (rules/common.smk calls `validate_config`), so a
wrong value fails at once with a message that names the key and what is allowed.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "config" / "schema" / "config.schema.yaml"
DEFAULT_CONFIG_PATH = ROOT / "config" / "config.yaml"


@lru_cache(maxsize=4)
def load_schema(path: str | None = None) -> dict:
    """Read the JSON schema (YAML-encoded) that the config must satisfy."""
    return yaml.safe_load(Path(path or SCHEMA_PATH).read_text(encoding="utf-8"))


def _fill_defaults(node: dict, schema: dict) -> None:
    """Insert schema `default`s for missing keys, recursing into objects.

    Not snakemake.utils.validate(..., set_default=True): that fills defaults only inside sections the
    config already has (an omitted `literature.arxiv` would stay missing, not get its timeout, retries
    and delay), and inserts the schema's own default objects, so two studies would share one `queries`
    list. Its errors also do not name the key the way `_explain` does."""
    for key, sub in schema.get("properties", {}).items():
        if key not in node and "default" in sub:
            node[key] = copy.deepcopy(sub["default"])
        if key not in node and sub.get("type") == "object" and "properties" in sub:
            node[key] = {}
        if isinstance(node.get(key), dict):
            _fill_defaults(node[key], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in node.items():
            if key not in schema.get("properties", {}) and isinstance(value, dict):
                _fill_defaults(value, extra)


def _key_path(error) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        parts.append(extra[0] if extra else "?")
    if error.validator == "required":
        missing = [r for r in error.validator_value if r not in error.instance]
        parts.append(missing[0] if missing else "?")
    return ".".join(parts) or "<top level>"


def _explain(error) -> str:
    key = _key_path(error)
    sch = error.schema
    if error.validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return f"config key '{key}': {error.instance!r} is not allowed; use one of {allowed}"
    if error.validator == "additionalProperties":
        known = ", ".join(sorted(sch.get("properties", {}))) or "none"
        return f"config key '{key}' is not a known setting here; known keys: {known}"
    if error.validator == "required":
        return f"config key '{key}' is required but missing"
    if error.validator == "type":
        return f"config key '{key}': expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}"
    if error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"config key '{key}': {error.instance!r} violates {error.validator} {error.validator_value}"
    if "propertyNames" in error.schema_path:
        return f"config key '{key}.{error.instance}': invalid name; {sch.get('description', error.message)}"
    desc = sch.get("description")
    return f"config key '{key}': {error.message}" + (f" ({desc})" if desc else "")


def validate_config(config: dict, schema_path: str | None = None) -> dict:
    """Return a validated copy of `config` with defaults filled; raise ConfigError naming the key."""
    if not isinstance(config, dict):
        raise ConfigError("config must be a mapping of keys to values (is the YAML file empty?)")
    schema = load_schema(str(schema_path) if schema_path else None)
    cfg = copy.deepcopy(config)
    import jsonschema  # imported here: composing a config (bench hosts) needs no jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        msgs = [_explain(err) for err in errors[:5]]
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ConfigError("invalid configuration: " + "; ".join(msgs) + more)
    _fill_defaults(cfg, schema)
    _check_semantics(cfg)
    return cfg


def _check_semantics(cfg: dict) -> None:
    """Checks the schema cannot express."""
    for name, study in cfg["studies"].items():
        if not study.get("question") and not study.get("papers"):
            raise ConfigError(f"config key 'studies.{name}.question' is required but missing "
                              f"(or pin the study to papers with 'studies.{name}.papers')")
        if len(set(study.get("papers", []))) != len(study.get("papers", [])):
            raise ConfigError(f"config key 'studies.{name}.papers': the same paper is listed twice")
        qs = [q.strip().lower() for q in study.get("queries", [])]
        if len(qs) != len(set(qs)):
            raise ConfigError(f"config key 'studies.{name}.queries': the same query is listed twice")
    _load_checks()
    for check in _EXTRA_CHECKS:
        check(cfg)


_EXTRA_CHECKS: list = []
# Modules whose import registers cross-key checks; imported on the first validation so a
# check holds wherever the config is validated (Snakemake, CLI, tests).
CHECK_MODULES = ("sovereign.bench.checks",)


def _load_checks() -> None:
    import importlib

    for name in CHECK_MODULES:
        importlib.import_module(name)


def register_check(func):
    """Register a cross-key check that stages add (e.g. devices named in bench must exist)."""
    if func not in _EXTRA_CHECKS:
        _EXTRA_CHECKS.append(func)
    return func


def load_config(path: str | Path | None = None) -> dict:
    """Read a YAML config file and validate it."""
    path = Path(path or DEFAULT_CONFIG_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    return validate_config(raw)


def config_hash(obj) -> str:
    """A short stable hash of any JSON-able value (config sections, params)."""
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# Keys whose value in a user's config file replaces the defaults' value instead of merging into it:
# a file naming `studies` runs exactly those studies. Lists always replace (Snakemake's rule too).
REPLACED_KEYS = ("studies",)
# Mappings that select what runs (backend -> precisions): a user's `backends: {torch_eager: [fp32]}` means that
# pair alone, as a list would; merged, the default grid's other backends would run beside it.
REPLACED_LEAF_KEYS = ("backends",)


def merge_config(base: dict, overlay: dict, path: tuple = ()) -> dict:
    """`overlay` applied on `base`: mappings merge key by key, except REPLACED_KEYS and any mapping named by
    REPLACED_LEAF_KEYS; lists and values replace."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        here = path + (key,)
        replaced = ".".join(map(str, here)) in REPLACED_KEYS or key in REPLACED_LEAF_KEYS
        if isinstance(value, dict) and isinstance(out.get(key), dict) and not replaced:
            out[key] = merge_config(out[key], value, here)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _sub_schema(schema: dict, key) -> dict:
    props = schema.get("properties", {})
    if key in props:
        return props[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else {}


def _typed(text: str, types: list[str]):
    """`text` read as YAML when the schema wants a non-string there and the YAML value has that type."""
    if "string" in types or not types:
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    ok = {"number": (int, float), "integer": (int,), "boolean": (bool,), "array": (list,), "object": (dict,),
          "null": (type(None),)}
    if any(isinstance(value, ok.get(t, ())) and not (t != "boolean" and isinstance(value, bool)) for t in types):
        return value
    return text


def type_cli_values(node, schema: dict | None = None):
    """Values given with `snakemake --config` typed as the schema asks.

    Snakemake reads a nested value such as `screening='{tfidf_threshold: 0.2}'` with YAML's BaseLoader,
    which keeps every scalar a string; this reads each such string again where the schema wants a number,
    an integer, a boolean or a list."""
    schema = load_schema() if schema is None else schema
    if isinstance(node, dict):
        return {k: type_cli_values(v, _sub_schema(schema, k)) for k, v in node.items()}
    if isinstance(node, list):
        items = schema.get("items", {}) if isinstance(schema.get("items"), dict) else {}
        return [type_cli_values(v, items) for v in node]
    if isinstance(node, str):
        types = schema.get("type", [])
        return _typed(node, [types] if isinstance(types, str) else list(types))
    return node


def compose_config(defaults: dict, overlays: list[dict], cli: dict | None = None) -> dict:
    """The workflow config: the defaults file, then each user file, then `--config` values (typed)."""
    cfg = copy.deepcopy(defaults or {})
    for overlay in overlays:
        if overlay:
            if not isinstance(overlay, dict):
                raise ConfigError("a config file must be a mapping of keys to values")
            cfg = merge_config(cfg, overlay)
    if cli:
        cfg = merge_config(cfg, type_cli_values(cli))
    return cfg


def load_user_config(*paths) -> dict:
    """config/config.yaml with each of the user's files applied on it in order (as the workflow composes
    --configfile files), validated. The defaults file itself may be named: it then adds nothing."""
    default = DEFAULT_CONFIG_PATH.resolve()
    overlays = [read_yaml_file(p) for p in paths if p and Path(p).resolve() != default]
    cfg = compose_config(read_yaml_file(default), overlays)
    try:
        import jsonschema  # noqa: F401
    except ImportError as exc:  # a bare GPU host: the suites' own dataclass checks still apply
        logging.getLogger(__name__).warning("config not schema-validated (%s); the suites' own checks still apply", exc)
        return cfg
    return validate_config(cfg)


def read_yaml_file(path) -> dict:
    """One YAML config file as a mapping (empty file: {}); errors name the file."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    return raw or {}


def sorted_keys(obj):
    """`obj` with every mapping's keys in sorted order, so params built from it repr (and hash) the same
    whatever order a config file lists its keys in (Snakemake compares params by their repr)."""
    if isinstance(obj, dict):
        return {k: sorted_keys(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, list):
        return [sorted_keys(v) for v in obj]
    return obj
