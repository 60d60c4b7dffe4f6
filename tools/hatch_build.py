"""Build hook: generate the code engine's tables from their data sources
(GS1 Barcode Syntax Dictionary, ISO code lists) before every build,
editable installs included."""

import os
import subprocess
import sys

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class GenerateTables(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        root = self.root
        for script in ("gen_gs1_table.py", "gen_lint_tables.py"):
            path = os.path.join(root, "tools", script)
            if os.path.exists(path):
                subprocess.check_call([sys.executable, path], cwd=root)
