"""The package version, read by hatchling at build time and by the client for User-Agent."""

__version__ = "0.1.0"
