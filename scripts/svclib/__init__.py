"""Helpers behind scripts/services: start/stop the real services the tests use, and chaos primitives.

Standard library only, because scripts/services must work before `pip install`.
Tests import it by putting scripts/ on sys.path (see tests/services/conftest.py):

    kafka_cluster   kill_broker(n), start_broker(n), wait_cluster_ready(), cluster_bootstrap()
    postgres        restart_postgres(), archive_now(), base_backup(dest), restore_to(time, datadir, port, backup)
    pg_replica      replication_lag(), wait_caught_up()
    redis           restart_redis()
    prometheus      register_scrape_target(job, host_port, labels), unregister_scrape_target(...),
                    prometheus_url(), query(promql), wait_target_up(job)
    jaeger          otlp_endpoint(), query_url()
"""
