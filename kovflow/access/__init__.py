"""Who may do what with a case: the access policy, compartments and their checks (pure)."""
