from os import environ

import flask as fl

app = fl.Flask(__name__)
app.config["SECRET_KEY"] = environ["SECRET_KEY"]

if __name__ == "__main__":
    app.run("0.0.0.0", 8000, True)
