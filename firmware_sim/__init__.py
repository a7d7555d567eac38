"""firmware_sim: the simulated glasses, a real BLE peripheral on bumble driven by scenario files.

Modules: ``scenario`` (TOML script), ``director`` (reactive timing), ``clock`` (20 ms ticks),
``mic`` (speech + noise + echo), ``link`` (air-time model), ``gatt`` (the profile's services as a
bumble attribute database, and advertising), ``recorder`` (mic.wav, ear.wav, sim_events.json),
``config`` (what a run is set up with), ``simulator`` (ties them to bumble), ``cli`` (`sottovoce sim`),
``recordings`` (the real people's voices committed in ``voices/``, with their manifest).
The device's side of every GATT service (audio, battery, buttons, the speaker with its playback
buffer) is the profile's server side in ``proto/gatt``, shared with the edge's local-audio link.
"""
