"""Checks of the deployment side: Compose, Kubernetes, Dockerfiles, nginx, run.sh, AMQPS."""
