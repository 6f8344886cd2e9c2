"""The ceiling: a bare Flask app with one short HTML page, served like the real one."""

from flask import Flask

app = Flask(__name__)

PAGE = "<!doctype html><html><head><title>Bare</title></head><body><p>Hello</p></body></html>"


@app.route("/")
def hello() -> str:
    return PAGE
