"""The reporting programme in numbers: phishing-report cases read back from TheHive, counted (thehive_stats.py)."""
