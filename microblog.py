"""Entry point for `flask` and gunicorn (`microblog:app`)."""

import sqlalchemy as sa
from dotenv import load_dotenv

from app import create_app, db
from app.models import Post, User
from config import BASE_DIR

# gunicorn does not read .env the way the flask command does.
load_dotenv(BASE_DIR / ".env")
app = create_app()


@app.shell_context_processor
def make_shell_context() -> dict[str, object]:
    return {"db": db, "sa": sa, "User": User, "Post": Post}
