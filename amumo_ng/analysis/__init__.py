"""Pure analysis functions on embedding arrays (numpy/torch in, arrays or dataclasses out)."""
