"""MyMONIT: collects measurements of CERN experiments and serves them to their scientists."""

__version__ = "1.0.0"
