"""dastak-dispatch: plan doorstep government-service visits for motorcycle agents."""

__version__ = "0.1.0"
