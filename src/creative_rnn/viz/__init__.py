"""Pictures of runs and of what the network learned."""

from .curves import plot_runs

__all__ = ["plot_runs"]
