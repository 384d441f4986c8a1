"""One router per resource: search, articles, alerts, watches, feeds, saved searches, users and sign-in."""
