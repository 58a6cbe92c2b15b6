import argparse

from flask import Flask

app = Flask(__name__)

if __name__ == "__main__":
    args = argparse.ArgumentParser().parse_args()
    app.run(debug=args.debug)
