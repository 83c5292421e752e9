"""Locust side of scripts/bench/tools.sh and users.sh: one FastHttpUser that GETs `/`.

LOCUST_THINK (seconds, default 0) is each user's pause between requests.
"""
import os

from locust import FastHttpUser, constant, task


class Get(FastHttpUser):
    wait_time = constant(float(os.environ.get("LOCUST_THINK", "0")))

    @task
    def root(self):
        self.client.get("/")
