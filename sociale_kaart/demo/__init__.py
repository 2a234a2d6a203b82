"""The small fictional demo directory (demo_services.json) and `import_demo_data`, which
`iad setup` runs: the real Twente directory when ../shared is there, else this one."""

from sociale_kaart.importer import DEMO_FILE, import_demo_data

__all__ = ["DEMO_FILE", "import_demo_data"]
