"""HTTP route modules of the emulator; each exposes ``routes() -> list[BaseRoute]``."""
