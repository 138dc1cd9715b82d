"""Layer 1, front end: the instruction table (isa/), the IR, the parser, the assembler bridge, the
dependency DAG, register conventions (abi) and the outputs rule.
"""
