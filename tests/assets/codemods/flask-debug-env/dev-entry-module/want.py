from flask import Flask
import os

app = Flask(__name__)
app.run(debug=os.environ.get("FLASK_DEBUG") == "1")
