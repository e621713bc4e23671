"""Array backends: one per device. (Being built: see docs/architecture.md once it exists.)"""
