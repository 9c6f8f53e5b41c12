"""Templates of the exports kovflow hands to people (the subject-access export), shipped in the package."""
