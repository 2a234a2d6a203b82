"""Measuring: the `iad eval` and `iad bench` code. It may import every package; nothing
imports it."""
