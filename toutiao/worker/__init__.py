"""The task tier: Celery tasks that run the platform's async domain code.

- :mod:`toutiao.worker.jobs`: the table of task names and the domain coroutines they run;
- :mod:`toutiao.worker.loop`: one event loop and one ``Runtime`` per worker process;
- :mod:`toutiao.worker.tasks`: the Celery tasks (retries with backoff) built from the table;
- :mod:`toutiao.worker.schedule`: what ``toutiao scheduler`` enqueues, and when;
- :mod:`toutiao.worker.main`: ``toutiao worker``.
"""
