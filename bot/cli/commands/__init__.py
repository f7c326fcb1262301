"""One module per `python -m bot` command, in the style of maubot's `cli/commands/`.

Each module has `register(commands)`, which adds its subcommand (name, help, options) and
points it at the module's `run(args) -> exit code`. A command imports the domain modules it
drives (bot.app, bot.graph, bot.privacy ...); no domain module imports a command, so the
CLI sits on top of the product and nothing below it can reach back up.
"""
