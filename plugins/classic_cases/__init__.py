"""Programme plugin classic_cases (being written)."""
