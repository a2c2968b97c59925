# verdicts stage: rules are added by the verdicts issue.
