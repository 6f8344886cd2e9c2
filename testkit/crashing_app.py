"""The production application plus the failing routes, for servers started by tests.

gunicorn serves it as ``testkit.crashing_app:app`` beside ``microblog:app``.
"""

from microblog import app
from testkit.crashing import api_bp, bp

app.register_blueprint(bp)
app.register_blueprint(api_bp)
