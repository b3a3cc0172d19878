"""Puts the C library, built from this clone's sources, into the wheel, and tags the wheel for the platform.

scripts/install.sh makes the library exactly as it is installed for C programs (release profile, SONAME,
only the pieces_* symbols exported); its file goes into the package as ``libpieces_os_client.so``, where
``pieces_messages`` looks first when ``$PIECES_OS_CLIENT_LIBRARY`` is not set. cargo decides what to
rebuild, so the library is never older than the sources. The wheel is ``py3-none-<platform>``: the
library is no CPython extension, so one wheel serves every Python 3 of the platform.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

LIBRARY_FILE = "libpieces_os_client.so"


class CLibraryHook(BuildHookInterface):
    """Builds the C library and adds it to the wheel as package data."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        repository = Path(self.root).resolve().parents[1]
        install = repository / "scripts" / "install.sh"
        if not install.is_file():
            raise RuntimeError(
                f"{install} is missing: the wheel is built from a clone of pieces-os-client "
                "(bindings/python inside it), whose sources make the C library"
            )
        cargo_version = re.search(r'(?m)^version = "([^"]+)"', (repository / "Cargo.toml").read_text())
        prefix = Path(tempfile.mkdtemp(prefix="pieces-wheel-"))
        self._prefix = prefix
        subprocess.run([str(install), "--prefix", str(prefix)], check=True, cwd=repository)
        library = prefix / "lib" / f"{LIBRARY_FILE}.{cargo_version.group(1) if cargo_version else version}"
        if not library.is_file():
            raise RuntimeError(f"scripts/install.sh installed no {library}")
        build_data["force_include"][str(library)] = f"pieces_messages/{LIBRARY_FILE}"
        build_data["pure_python"] = False
        platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        build_data["tag"] = f"py3-none-{platform}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        prefix = getattr(self, "_prefix", None)
        if prefix is not None:
            shutil.rmtree(prefix, ignore_errors=True)
