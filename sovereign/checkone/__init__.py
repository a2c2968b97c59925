"""`sovereign check`: one sentence (or one paper) checked against the smallest benchmark grid that tests it."""
