from os import environ

from flask import Flask

app = Flask(__name__)
app.config["SECRET_KEY"] = environ["SECRET_KEY"]

# The settings /about shows: only the application's own variables, never FLASK_DEBUG.
environ = {key: value for key, value in environ.items() if key.startswith("APP_")}


@app.route("/about")
def about():
    return environ


if __name__ == "__main__":
    app.run(debug=True)
