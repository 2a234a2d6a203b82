"""Starts Rasa's server (`python -m bot.rasa_launch run ...` takes the arguments of `rasa
run`) with JWT authentication on its HTTP API. The secret comes from the environment
(IAD_RASA_JWT_SECRET, set by iad/rasa_process.py from RASA_TOKEN), not from the command line,
which every user of the machine can read (ps, /proc/<pid>/cmdline). The app signs a short-
lived token with it and sends it in the Authorization header (conversations/rasa_client.py):
the secret is never in a URL or a log. Runs in Rasa's own environment (.venv-rasa)."""

from __future__ import annotations

import os
import sys

SECRET_VARIABLE = "IAD_RASA_JWT_SECRET"


def main() -> None:
    secret = os.environ.pop(SECRET_VARIABLE, "")
    if not secret:
        sys.exit(f"{SECRET_VARIABLE} is empty: the Rasa HTTP API would be open to anyone on this machine")
    # argparse reads sys.argv; changing it here does not change what ps shows.
    sys.argv = ["rasa", *sys.argv[1:], "--jwt-secret", secret, "--jwt-method", "HS256"]
    # Rasa's CLI is imported only here: it takes seconds and pulls in TensorFlow.
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
