from flask import Flask
import os

app = Flask(__name__)


def main():
    app.run(port=5001, debug=os.environ.get("FLASK_DEBUG") == "1")


if __name__ == "__main__":
    main()
