"""Stand-ins for the platforms' servers, bound to 127.0.0.1 and started by tests.

They speak the real wire protocol so the real client libraries run against
them unchanged; they are test code and never imported from `bot/`.
"""
