"""Event extraction (issue 25): who did what to whom, where, when, with how many killed, from the text.

Rule-based, precision first, in English, French and Arabic: ``ontology`` (types and trigger words),
``cues`` (negatives, claims, denials), ``roles`` (forces, victims, tolls), ``tokens`` (words and phrase
matchers), ``numbers``, ``dates``, ``actors``, ``places``, ``model`` (the event record) and ``extract``
(the sentence rules).
"""
