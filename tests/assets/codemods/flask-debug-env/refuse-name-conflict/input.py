import platform

from flask import Flask

app = Flask(__name__)
os = platform.system()

if __name__ == "__main__":
    app.run(debug=True)
