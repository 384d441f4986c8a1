"""STIX 2.1 for threat-intelligence platforms (OpenCTI, MISP): reports of alerts and stories, and their bundles.

- ``ids``: deterministic ids (uuid5) and the TLP markings
- ``places``: ``Place`` records and ``location_from_place``
- ``objects``: ``ReportInput`` -> the report, intrusion sets, locations, identities, relationships
- ``sources``: ``ReportInput`` from an alert and its article, or from an article (a story)
- ``bundle``: a bundle streamed object by object
- ``export``: alerts and stories read from Elasticsearch page by page, as report batches
"""
