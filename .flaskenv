FLASK_APP=microblog.py
