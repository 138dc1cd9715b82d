"""Layer 0, core: errors with source locations and the clock (wall or deterministic, Ctrl-C). No
project imports.
"""
