"""Helpers shared by the test suites: a Logstash stand-in and a leak check."""
