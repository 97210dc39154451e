"""Examples: the demo agent under test and its world (never imported by the packages)."""
