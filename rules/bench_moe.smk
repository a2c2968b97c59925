# bench_moe stage: rules are added by the bench_moe issue.
