"""AArch64 instruction set: operands, the instruction table and its forms.

Importing this package registers every form in `table.TABLE`.
"""

from scheduler.frontend.isa import forms_int, forms_mem, forms_simd  # noqa: F401  (register the forms)
from scheduler.frontend.isa.table import TABLE, Form
from scheduler.frontend.isa.unpredictable import first_unpredictable, unpredictable

__all__ = ["TABLE", "Form", "first_unpredictable", "unpredictable"]
