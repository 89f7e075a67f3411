"""Clients for upstream systems, and the central printing simulator.

Imports nothing from the rest of the project, so it can be reused and tested alone.
"""
