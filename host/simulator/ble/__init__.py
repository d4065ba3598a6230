"""The simulated wearable on a virtual Bluetooth LE radio, and bleak backends to reach it.

Everything here runs in one process on the current asyncio event loop, on top of the
``bumble`` Bluetooth stack (a development dependency: install ``spasmwatch[dev]``):

- :class:`VirtualRadio`: virtual controllers on one in-process link, plus link loss;
- :class:`BleWearable`: the firmware model behind the spasmwatch GATT service;
- :class:`VirtualPeripheral`: any other peripheral (for the host's refusals);
- :class:`BumbleBleakClient`, :class:`BumbleBleakScanner`: bleak backends on the radio,
  so the real BLE transport runs unchanged against the virtual wearable.

Examples
--------
>>> async def main() -> None:  # doctest: +SKIP
...     radio = VirtualRadio()
...     wearable = BleWearable(SimulatedDevice(builtin_scenario("quick")), radio)
...     await wearable.start()
...     async with BleTransport(
...         wearable.name,
...         client_backend=radio.client_backend,
...         scanner_backend=radio.scanner_backend,
...     ) as transport:
...         async for item in transport:
...             ...
"""

from __future__ import annotations

from host.simulator.ble.backend import BumbleBleakClient, BumbleBleakScanner
from host.simulator.ble.radio import CENTRAL_ADDRESS, VirtualRadio
from host.simulator.ble.wearable import BleWearable, FrameRecord, VirtualPeripheral

__all__ = [
    "CENTRAL_ADDRESS",
    "BleWearable",
    "BumbleBleakClient",
    "BumbleBleakScanner",
    "FrameRecord",
    "VirtualPeripheral",
    "VirtualRadio",
]
