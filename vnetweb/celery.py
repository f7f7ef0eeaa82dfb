import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vnetweb.settings")

app = Celery("vnetweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["networks.worker"])
