"""`python -m bot`: the Procfile's worker, the same as `trendbot run`."""

from cli.main import app, main

if __name__ == "__main__":
    import sys

    sys.argv = [sys.argv[0], "run", *sys.argv[1:]]
    main()

__all__ = ["app"]
