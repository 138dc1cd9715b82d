"""Layer 4, search: CP-SAT models (reordering, renaming, fixups), list schedulers, windows, local
search, the stage pipeline and `optimize`.
"""
