"""Programme plugin village_surveys (being written)."""
