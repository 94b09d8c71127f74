# tests/refserver: build rules (filled in by the component).
