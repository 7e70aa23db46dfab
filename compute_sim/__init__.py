"""Simulated computes: many hosts per process, each with its own queue and fault rules."""
