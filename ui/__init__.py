"""ui: see ../shared/DESIGN.md (not built yet)."""
