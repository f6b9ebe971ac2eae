"""A physical Ethernet NIC, as a driver would register it in ``init_net``.

It has no rtnl link kind: ``ip link add`` cannot make one and ``ip link del``
refuses it.  When the namespace holding it dies it is not destroyed but
returned to ``init_net`` and renamed ``dev<ifindex>`` (``netns_refund``
behaviour of devices without link ops).  Create one with
:meth:`usernet.Kernel.add_nic`."""

from __future__ import annotations

from .netdevice import NET_ADDR_PERM, NetDevice


class EtherNIC(NetDevice):
    __slots__ = ()
    kind = ""
    netns_refund = True
    max_mtu = 9000

    def __init__(self, name: str, dev_addr: bytes) -> None:
        super().__init__(name, dev_addr, NET_ADDR_PERM)
        self.carrier = True  # cable plugged in
