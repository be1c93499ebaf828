"""Programme plugin rural_enterprises (being written)."""
