# claims stage: rules are added by the claims issue.
