import os

from flask import Flask as F
from werkzeug.serving import run_simple

app = F(__name__)

if __name__ == "__main__":
    run_simple(
        "localhost",
        int(os.environ.get("PORT", "5000")),
        app,
        use_reloader=True,
        use_debugger=True,  # tracebacks in the browser
    )
