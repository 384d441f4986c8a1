"""Places: every place mention resolved to one row of the project's place table.

``table`` (the table and its rows, loaded once per process), ``automaton`` (every name of the table in a text),
``resolve`` (candidates, homonyms by context: :class:`~enrich.places.resolve.PlaceResolver`), ``build`` (the
table from GeoNames data in registry packages: ``make places``).
"""
