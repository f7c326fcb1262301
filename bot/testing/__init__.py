"""Tools to test the bot through its real core, shipped with the package.

Why in the package and not in tests/: moderators' scenario runner (`python -m bot
test`) and the project's own tests need the same three things, and four
copies of them had drifted apart (a capturing outlet keyed by user in one,
by chat in another, one that dropped documents). In the style of
aiogram_dialog's test tools: one outlet that remembers what the platform would
have shown, a chat client that talks to a real `Core` as a person would, and a
clock that stands still until a test moves it.
"""

from bot.clock import FixedClock
from bot.testing.client import ChatClient
from bot.testing.outlet import CaptureOutlet, RoomPost

__all__ = ["CaptureOutlet", "ChatClient", "FixedClock", "RoomPost"]
