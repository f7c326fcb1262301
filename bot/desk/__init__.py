"""The safety desk: reports and requests for a person reach the people of an organisation.

See safety_desk.py for how it works and which part does what, commands.py for
what desk members type, hours.py for desk hours and cases.py for what is stored.
"""

from bot.desk.safety_desk import REPLY_TO, SafetyDesk, desk_of, setup

__all__ = ["REPLY_TO", "SafetyDesk", "desk_of", "setup"]
