"""The BLE GATT profile of a Sottovoce wearable: one module per service, after bumble's ``profiles/``.

- ``audio``: the Omi audio uplink (Opus frames in notifications) and its codec characteristic;
- ``battery``: the SIG battery service;
- ``buttons``: Omi's button service;
- ``imu``: Sottovoce's IMU service, accelerometer, gyroscope and magnetometer batches (navigation
  fuses them into the head's heading);
- ``speaker``: Sottovoce's own service, the Opus downlink to the ear speaker and a two-way CBOR
  control channel (``proto/control.py``), with the device's speaker model as its server side.

Each service module holds its UUIDs, its framing (packetizer and reassembler, encode and decode),
its server side (the characteristics' properties and permissions as plain declarations, and
what the device does with reads and writes) and its client side (what a central reads,
subscribes to and writes, over any ``att.GattClient``). ``att`` has what they share, ``chunks``
the sequenced-chunk framing of the downlink and control characteristics.

Nothing in this package imports bumble. The host imports ``proto`` and has no Bluetooth stack;
an edge on real glasses (bleak), on a serial dev kit or on local audio runs the profile without
bumble; the declarations are plain data so that each stack adapts them in one place: bumble only
in ``firmware_sim/gatt.py`` (the simulator's attribute server) and ``edge/links/bumble_link.py``
(a central over bumble), bleak only in ``edge/links/bleak_link.py``.
"""

from __future__ import annotations

DEVICE_NAME_PREFIX = "Sottovoce"  # advertised names start with it; a central scanning for glasses looks for it
