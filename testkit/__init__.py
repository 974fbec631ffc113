"""Real parts for tests, the demo and the benchmark: a loopback SMTP server and a Cortex job runner."""
