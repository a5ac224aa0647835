"""Dispatch core: requests, offers, insertion and re-optimization (pure: no clock, no I/O)."""
