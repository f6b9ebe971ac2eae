"""fd_table remembers the last kernel asked about (weakly): each kernel must
still get its own table, whatever the order of the calls, and a kernel must
still be freed once nothing else holds it."""

from __future__ import annotations

import gc
import weakref

from usernet import Kernel
from usernet.socket import _context
from usernet.socket._context import fd_table


def test_each_kernel_keeps_its_own_table_in_any_order() -> None:
    k1, k2 = Kernel(), Kernel()
    t1, t2 = fd_table(k1), fd_table(k2)
    assert t1 is not t2
    for k, t in ((k1, t1), (k1, t1), (k2, t2), (k1, t1), (k2, t2), (k2, t2)):
        assert fd_table(k) is t


def test_the_memo_does_not_keep_a_kernel_alive() -> None:
    k = Kernel()
    table = fd_table(k)
    assert fd_table(k) is table  # now remembered
    ref = weakref.ref(k)
    del k
    gc.collect()
    assert ref() is None
    k2 = Kernel()
    assert fd_table(k2) is not table
    assert _context._last is not None and _context._last[1] is fd_table(k2)
