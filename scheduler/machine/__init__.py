"""Layer 2, the machine: models as data (model), the in-order and out-of-order evaluators, lower
bounds, stall attribution, llvm-mca as a second opinion.
"""
