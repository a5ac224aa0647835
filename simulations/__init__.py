"""Event-driven simulation, demand generation, replay, KPIs, reports and sweeps."""
