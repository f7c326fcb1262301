"""Matrix: matrix-nio, end-to-end encryption, a cross-signed device.

`MatrixAdapter(settings, core)` is what bot.app starts. The parts:
config.py (the settings), device.py (login, keys; crosssigning.py for how
the device gets trusted), sync.py (the sync loop and its cursor) and
timeline.py (what events mean), membership.py (invites, private chats,
leaving; rules in rooms.py), outlet.py (messages out; render.py for their
form, journal.py for sending each once), retry.py (429s, outages, the
deadline) and adapter.py (ties them together for the core).
"""

from bot.adapters.matrix.adapter import MatrixAdapter
from bot.adapters.matrix.config import MatrixConfig, config_from_settings

__all__ = ["MatrixAdapter", "MatrixConfig", "config_from_settings"]
