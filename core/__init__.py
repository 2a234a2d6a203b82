"""The bottom layer: configuration, the database, the levensgebieden vocabulary and the
crisis help. Every other package may import core; core imports none of them
(ARCHITECTURE.md)."""
