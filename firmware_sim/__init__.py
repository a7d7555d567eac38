"""firmware_sim: the simulated glasses, a real BLE peripheral on bumble driven by scenario files.

Modules: ``scenario`` (TOML script), ``director`` (reactive timing), ``clock`` (20 ms ticks),
``mic`` (speech + noise + echo), ``speaker`` (downlink playback buffer), ``link`` (air-time model),
``gatt`` (services and advertising), ``recorder`` (mic.wav, ear.wav, sim_events.json),
``simulator`` (ties them to bumble), ``cli`` (`sottovoce sim`).
"""
