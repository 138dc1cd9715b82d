"""Instruction-scheduling superoptimizer for straight-line AArch64 kernels."""

__version__ = "0.1.0"
