"""Differential tests: the same case functions against CPython's ``socket``
module in real namespaces and against ``usernet.socket`` (see ``catalog.py``).

Nothing in this package may import usernet at module level except
``virtual.py``: the real side runs it with a bare CPython in namespaces.
"""
