"""Matrix: matrix-nio, end-to-end encryption, a cross-signed device.

`MatrixAdapter(settings, core)` is what bot.app starts; see adapter.py for
what it guarantees and crosssigning.py for how the device gets trusted.
"""

from bot.adapters.matrix.adapter import (
    MatrixAdapter,
    MatrixConfig,
    config_from_settings,
)

__all__ = ["MatrixAdapter", "MatrixConfig", "config_from_settings"]
