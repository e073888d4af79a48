"""The public site: scoreboard, commitment pages, feeds, calendars and the JSON API, read-only (CONTRACT.md
"Public site"). `bot.web.app.create_app` makes the ASGI application; `bot.web.server` serves it with uvicorn."""
