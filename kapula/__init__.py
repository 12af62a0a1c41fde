"""Kapula: multichannel customer service and IT service management."""

__version__ = "0.1.0"
