import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return os.environ.get("GREETING", "hello")


if __name__ == "__main__":
    app.run(host="127.0.0.1", debug=True)  # local development only
