"""`streamlit run app.py`, which the README offers beside `ganaug app`, listened on every network interface,
sent usage statistics from each reviewer's browser and showed them a failing page's traceback: the repository's
.streamlit/config.toml keeps it to this machine and quiet."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.app.conftest import ROOT

READ_OPTIONS = """
import json
from streamlit import config
config.get_config_options(force_reparse=True)
print(json.dumps({k: config.get_option(k) for k in
                  ("server.address", "server.enableXsrfProtection", "browser.gatherUsageStats", "client.toolbarMode",
                   "client.showErrorDetails", "theme.primaryColor", "theme.light.primaryColor",
                   "theme.dark.primaryColor")}))
"""


def test_streamlit_run_in_the_repository_listens_on_this_machine_only_and_sends_no_statistics():
    # In a process of its own, started where `streamlit run app.py` and `ganaug app` start Streamlit.
    out = subprocess.run([sys.executable, "-c", READ_OPTIONS], cwd=ROOT, capture_output=True, text=True, check=True)
    options = json.loads(out.stdout.strip().splitlines()[-1])
    assert options == {"server.address": "127.0.0.1", "server.enableXsrfProtection": True,
                       "browser.gatherUsageStats": False, "client.toolbarMode": "viewer",
                       "client.showErrorDetails": "type",
                       # Streamlit's red made "Approve batch" look like danger: blue, in either theme. A colour
                       # under [theme] made a custom theme the only one: no Dark in the menu, light where the
                       # system prefers dark.
                       "theme.primaryColor": None, "theme.light.primaryColor": "#1565C0",
                       "theme.dark.primaryColor": "#1976D2"}
