from bot.cli import entrypoint

entrypoint()
