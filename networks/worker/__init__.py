"""Everything that runs only in a Celery worker: the tasks, what each operation does on libvirt,
writing what was read into the database, the monitor, and the worker's presence and queues.

The web never imports this package: it queues tasks by name (networks.jobs) and reads the rows
the worker writes. Start and stop hooks are wired in `hooks` only.
"""
