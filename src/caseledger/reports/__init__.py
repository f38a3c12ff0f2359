"""Reports built from the ledger: the weekly access-anomaly review, the transparency report."""
