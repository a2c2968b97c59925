"""Warehouse views for the common questions: best throughput, speed-up over the CPU, claim status per study.

scripts/load_warehouse.py passes `verdict_views(...)`, built from the `verdicts` config, to load_warehouse.
They use contract columns only, so they exist even when a table is empty.
"""
from __future__ import annotations

from .hardware import load_hardware


def _sql_list(names: set[str]) -> str:
    return ", ".join("'" + n.replace("'", "''") + "'" for n in sorted(names))


def verdict_views(cpu_baseline_backend: str = "pytorch", cpu_baseline_precision: str = "fp32",
                  devices_file: str = "") -> list[tuple[str, str]]:
    """(name, sql) of each view; `speedup_vs_cpu` divides by the configured CPU baseline (backend with
    its aliases from the devices file, and precision), the same baseline the checks and the report use."""
    backends = load_hardware(devices_file or None).backend_names(cpu_baseline_backend)
    precision = str(cpu_baseline_precision).lower().replace("'", "''")
    return [
        ("best_throughput",
         "SELECT suite, device, model, precision, max(throughput_ips) AS best_ips, "
         "arg_max(backend, throughput_ips) AS backend, arg_max(batch_size, throughput_ips) AS batch_size, "
         "arg_max(gpu_name, throughput_ips) AS gpu_name, arg_max(latency_ms_p50, throughput_ips) AS latency_ms_p50 "
         "FROM bench_results WHERE status = 'ok' AND throughput_ips IS NOT NULL "
         "GROUP BY suite, device, model, precision ORDER BY suite, model, best_ips DESC"),
        # one baseline per CPU model (`hardware`), never pooled; only rows this run measured
        ("speedup_vs_cpu",
         "WITH ok AS (SELECT * FROM bench_results WHERE status = 'ok' AND throughput_ips > 0 "
         "AND coalesce(origin, 'run') = 'run'), "
         "base AS (SELECT suite, model, batch_size, hardware AS cpu_hardware, max(throughput_ips) AS cpu_ips FROM ok "
         f"WHERE lower(device) LIKE 'cpu%' AND lower(precision) = '{precision}' "
         f"AND regexp_replace(lower(backend), '[^a-z0-9]', '', 'g') IN ({_sql_list(backends)}) "
         "GROUP BY suite, model, batch_size, hardware) "
         "SELECT ok.suite, ok.device, ok.hardware, ok.model, ok.backend, ok.precision, ok.batch_size, ok.throughput_ips, "
         "base.cpu_hardware, base.cpu_ips, ok.throughput_ips / base.cpu_ips AS speedup "
         "FROM ok JOIN base ON ok.suite = base.suite AND ok.model = base.model AND ok.batch_size = base.batch_size "
         "ORDER BY speedup DESC"),
        ("study_verdict",
         "SELECT study, arg_max(decision, round) AS decision, arg_max(score, round) AS score, "
         "arg_max(verified_claims, round) AS verified_claims, max(round) AS rounds, arg_max(reasons, round) AS reasons "
         "FROM verdicts GROUP BY study ORDER BY study"),
        ("claim_status",
         "SELECT c.study, count(*) AS claims, "
         "count(*) FILTER (WHERE c.status = 'REPRODUCED') AS reproduced, "
         # the verdict's own count: REPRODUCED and counted (exact device, this run, not conditional)
         "count(*) FILTER (WHERE c.counts_as_verified) AS verified, "
         "count(*) FILTER (WHERE c.status = 'NOT_REPRODUCED') AS not_reproduced, "
         "count(*) FILTER (WHERE c.status = 'UNTESTABLE') AS untestable, "
         "count(*) FILTER (WHERE c.status = 'NOT_EMPIRICAL') AS not_empirical, "
         "count(*) FILTER (WHERE c.plausibility = 'implausible') AS implausible, "
         "any_value(v.decision) AS decision, any_value(v.score) AS score "
         "FROM claim_checks c LEFT JOIN (SELECT study, arg_max(decision, round) AS decision, "
         "arg_max(score, round) AS score FROM verdicts GROUP BY study) v ON c.study = v.study "
         "GROUP BY c.study ORDER BY c.study"),
    ]
