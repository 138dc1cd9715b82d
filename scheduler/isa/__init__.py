"""AArch64 instruction set: operands, the instruction table and its forms.

Importing this package registers every form in `table.TABLE`.
"""

from . import forms_int, forms_mem, forms_simd  # noqa: F401  (register the forms)
from .table import TABLE, Form

__all__ = ["TABLE", "Form"]
