"""Walking navigation: an OpenStreetMap extract read into a walking graph (``osm_map``), routes
(``router``), turn-by-turn steps (``instructions``), where the wearer is along a route
(``progress``), when each cue is said (``cues``), one wearer's navigation (``navigator``) and the
words that drive it (``skill``); distances and bearings in ``geo``. Everything but ``skill`` is
pure: no clock, no audio, no gRPC."""
