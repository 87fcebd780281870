"""The Kinetic home: where the library and the CLI keep their files (``orgs.toml``, the local org's
data dir, bulk job manifests, the demo). ``~/.kinetic``, moved by ``KINETIC_HOME``.

A ground-floor module (standard library only), so every layer can find the home without loading
the org configuration.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def kinetic_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$KINETIC_HOME`` if set, else ``~/.kinetic``.

    Example:
        >>> kinetic_home({"KINETIC_HOME": "/tmp/k"})
        PosixPath('/tmp/k')
    """
    env = os.environ if environ is None else environ
    value = env.get("KINETIC_HOME")
    return Path(value).expanduser() if value else Path.home() / ".kinetic"
