"""`python -m bot`: the Procfile's worker, the same as `trendbot run`."""

from bot.cli import app, main

if __name__ == "__main__":
    import sys

    sys.argv = [sys.argv[0], "run", *sys.argv[1:]]
    main()

__all__ = ["app"]
