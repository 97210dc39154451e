"""triage: see ../shared/DESIGN.md (not built yet)."""
