"""Typed settings of the verdicts stage (config keys `verdicts:` and `tribunal:`), validated on creation."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from .errors import VerdictConfigError


def _between(name: str, value, lo: float, hi: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= value <= hi:
        raise VerdictConfigError(f"config key '{name}': {value!r} must be a number in [{lo}, {hi}]")


def _build(cls, section: str, raw: dict | None):
    raw = dict(raw or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise VerdictConfigError(f"config key '{section}.{unknown[0]}' is not a known setting; known: {sorted(known)}")
    return cls(**raw)


@dataclass(frozen=True)
class CheckConfig:
    """How claims are compared with measurements (`verdicts:`)."""
    tolerance: float = 0.15
    utilization_bound: float = 0.60
    utilization_min: float = 0.02
    baseline_utilization_floor: float = 0.15
    knee_gain: float = 0.10
    cpu_baseline_backend: str = "pytorch"
    cpu_baseline_precision: str = "fp32"
    devices_file: str = ""
    # results files measured elsewhere (origin `reference`); they decide claims only with reference_decides
    reference_results: tuple = ()
    reference_decides: bool = False
    # a claim about a CPU family tested on another CPU of it (match: class) counts toward ACCEPT only when true
    count_class_matches: bool = False

    def __post_init__(self):
        if isinstance(self.reference_results, str) or not all(isinstance(p, str) and p for p in self.reference_results):
            raise VerdictConfigError("config key 'verdicts.reference_results': give a list of result file paths")
        object.__setattr__(self, "reference_results", tuple(self.reference_results))
        if not isinstance(self.count_class_matches, bool):
            raise VerdictConfigError(f"config key 'verdicts.count_class_matches': {self.count_class_matches!r} must be "
                                     "true or false")
        if not isinstance(self.reference_decides, bool):
            raise VerdictConfigError(f"config key 'verdicts.reference_decides': {self.reference_decides!r} must be true or false")
        _between("verdicts.tolerance", self.tolerance, 0.0, 1.0)
        _between("verdicts.utilization_bound", self.utilization_bound, 0.01, 1.0)
        _between("verdicts.utilization_min", self.utilization_min, 0.0001, self.utilization_bound)
        _between("verdicts.baseline_utilization_floor", self.baseline_utilization_floor, 0.0, 1.0)
        _between("verdicts.knee_gain", self.knee_gain, 0.0, 1.0)

    @classmethod
    def from_dict(cls, raw: dict | None) -> "CheckConfig":
        """Build from the `verdicts:` config section."""
        return _build(cls, "verdicts", raw)


@dataclass(frozen=True)
class LLMConfig:
    """Optional OpenAI-compatible chat endpoint that adds a rationale per role (`tribunal.llm`)."""
    enabled: bool = False
    url: str = ""
    model: str = ""
    api_key_env: str = "SOVEREIGN_LLM_API_KEY"
    timeout_s: float = 60.0
    max_tokens: int = 400

    def __post_init__(self):
        if self.enabled and not self.url.startswith(("http://", "https://")):
            raise VerdictConfigError("config key 'tribunal.llm.url': give the endpoint base URL (http://host:port/v1) "
                                     "or set tribunal.llm.enabled: false")
        if self.enabled and not self.model:
            raise VerdictConfigError("config key 'tribunal.llm.model': name the model to ask")
        _between("tribunal.llm.timeout_s", self.timeout_s, 0.1, 3600)


@dataclass(frozen=True)
class TribunalConfig:
    """Scoring thresholds and policy (`tribunal:`)."""
    revision_below: float = 6.5
    accept_score: float = 6.5
    min_verified: int = 5
    contradiction_factor: float = 2.0
    drift_min_term_share: float = 0.5
    corroboration_threshold: float = 0.6
    requery_max: int = 3
    llm: LLMConfig = field(default_factory=LLMConfig)

    def __post_init__(self):
        _between("tribunal.revision_below", self.revision_below, 0, 10)
        _between("tribunal.accept_score", self.accept_score, 0, 10)
        _between("tribunal.contradiction_factor", self.contradiction_factor, 1.0, 1000)
        _between("tribunal.drift_min_term_share", self.drift_min_term_share, 0, 1)
        _between("tribunal.corroboration_threshold", self.corroboration_threshold, -1, 1)
        if not isinstance(self.requery_max, int) or not 0 <= self.requery_max <= 20:
            raise VerdictConfigError(f"config key 'tribunal.requery_max': {self.requery_max!r} must be an integer 0-20")
        if not isinstance(self.min_verified, int) or self.min_verified < 0:
            raise VerdictConfigError(f"config key 'tribunal.min_verified': {self.min_verified!r} must be an integer >= 0")

    @classmethod
    def from_dict(cls, raw: dict | None) -> "TribunalConfig":
        """Build from the `tribunal:` config section."""
        raw = dict(raw or {})
        llm = raw.pop("llm", None)
        obj = _build(cls, "tribunal", raw)
        if llm is not None:
            obj = cls(**{**{f.name: getattr(obj, f.name) for f in fields(cls)},
                         "llm": _build(LLMConfig, "tribunal.llm", llm)})
        return obj
