"""dummy: a device that drops everything it is given (drivers/net/dummy.c).

Pinned from Linux's documented behaviour (the recording kernel lacks the
module): NOARP, carrier always on, so UP reads ``UNKNOWN`` like lo; MTU from 0
to unlimited; deleted with its namespace."""

from __future__ import annotations

from typing import Any

from .netdevice import IFF_BROADCAST, IFF_NOARP, NetDevice


class Dummy(NetDevice):
    __slots__ = ()
    kind = "dummy"
    min_mtu = 0
    max_mtu = 0
    iff_base = IFF_BROADCAST | IFF_NOARP
    can_change_carrier = True

    def ndo_change_carrier(self, on: bool) -> None:
        from .core import netif_carrier_off, netif_carrier_on

        (netif_carrier_on if on else netif_carrier_off)(self)

    def linkinfo(self) -> dict[str, Any] | None:
        return {"info_kind": "dummy"}
