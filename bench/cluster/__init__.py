"""``make cluster-check``: the Celery scale-out of docker-compose.celery.yml run for real on one machine.

Every part is a real process of a package the Makefile installs: PostgreSQL (Airflow's metadata database),
Redis (the Celery broker), Airflow 3 with the CeleryExecutor (api-server, scheduler, dag-processor and two
``airflow celery worker`` processes), three Elasticsearch nodes forming one cluster with the analysis plugin,
a loopback feed farm with its webhook receiver, and an SMTP server. One run is triggered; while its shards run,
one Celery worker and one Elasticsearch node are SIGKILLed. ``python -m bench.cluster`` prints, as its last
line, the JSON of ``bench.cluster.counts.cluster_counts`` (see bench/cluster/check.py).
"""
