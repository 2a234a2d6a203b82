"""Channels: each translates its own requests to and from the one conversation model."""
