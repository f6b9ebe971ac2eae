"""AF_UNIX skb sizes: what a send charges to the sender's sk_wmem_alloc
(skb->truesize), as 6.18 allocates them -- a head from kmalloc (no
small-head cache), and past it page frags (alloc_skb_with_frags)."""

from __future__ import annotations

from ..sock import SKB_SHINFO, SKB_STRUCT

PAGE_SIZE = 4096
SKB_MAX_HEAD0 = PAGE_SIZE - SKB_SHINFO  # SKB_MAX_HEAD(0): one page of head
UNIX_SKB_FRAGS_SZ = 32768
SKB_MAX_ALLOC = 4 * PAGE_SIZE - SKB_SHINFO  # SKB_MAX_ORDER(0, 2)
MAX_SKB_FRAGS = 17


def _page_align(n: int) -> int:
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def unix_head_truesize(linear: int) -> int:
    """truesize of an AF_UNIX skb's head of ``linear`` bytes: kmalloc of the
    cache-aligned data and skb_shared_info (no small-head cache here: 768
    bytes for one byte), plus the sk_buff.  Measured on 6.18 through
    ss -xm: 768, 1280, 2304, 4352, 8448, 16640 ..."""
    need = ((linear + 63) & ~63) + SKB_SHINFO
    size = 512
    while size < need:
        size <<= 1
    return size + SKB_STRUCT


def unix_stream_truesize(size: int) -> int:
    """truesize of a stream skb of ``size`` bytes: past one page of head the
    data goes to page frags, in whole pages (alloc_skb_with_frags)."""
    data_len = min(size, _page_align(size - SKB_MAX_HEAD0)) if size > SKB_MAX_HEAD0 else 0
    return unix_head_truesize(size - data_len) + _page_align(data_len)


def unix_dgram_truesize(size: int) -> int:
    """truesize of a datagram skb: linear up to SKB_MAX_ALLOC, the rest in
    page frags (unix_dgram_sendmsg)."""
    data_len = 0
    if size > SKB_MAX_ALLOC:
        data_len = _page_align(min(size - SKB_MAX_ALLOC, MAX_SKB_FRAGS * PAGE_SIZE))
    return unix_head_truesize(size - data_len) + data_len
