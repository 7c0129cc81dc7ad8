"""ctdc: counter-trafficking data collaborative pipeline."""

__version__ = "0.1.0"
