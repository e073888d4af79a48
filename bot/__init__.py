"""wetwacht's service: settings, wiring, the pipeline, delivery, the bot and the command line."""

import os

# python-telegram-bot 22 returns durations (RetryAfter.retry_after, ...) as timedeltas when this is set, and
# warns on every access otherwise; wetwacht handles timedeltas, so it opts in.
os.environ.setdefault("PTB_TIMEDELTA", "1")
