"""utfall: outcome follow-up for Swedish social services."""
