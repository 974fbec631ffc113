"""TheHive's side: its API as the responder speaks it, a case's observables read from it, and the verdict
field thehive_setup.py sets up."""
