# bench stage: rules are added by the bench issue.
