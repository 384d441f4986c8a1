"""The analysts' workbench: web pages and the ``/api/v1`` HTTP API (FastAPI, Jinja2), run by ``wirewatch serve``.

``backend.py`` is the one module that imports the search stage; ``store.py`` keeps the workbench's own state
(users, tokens, sessions, saved searches, acknowledgements); ``security.py`` says who may do what.
"""
