"""Extension objects, created bare so any module can import them without cycles."""

from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Named constraints keep Alembic migrations reproducible on every database.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()
# Counts per client address. The address is the request's remote address: whether a
# reverse proxy's X-Forwarded-For is believed is decided by TRUSTED_PROXIES (ProxyFix).
# Its storage (RATELIMIT_STORAGE_URI) is made anew by each init_app, so every app a
# test builds starts counting from zero.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
