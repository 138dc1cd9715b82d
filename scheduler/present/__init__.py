"""Layer 5, presentation: emitting kernels, reports, compare, timelines, safe output files, and
`batch` over Ray.
"""
