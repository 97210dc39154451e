"""Fakes at the network boundary only: servers on 127.0.0.1 speaking a real protocol."""
