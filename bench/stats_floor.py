#!/usr/bin/env python3
"""The floor of thehive_stats.py: a bare requests loop that asks for the same count and pages and decodes their JSON.

stats_floor.py URL APIKEY QUERY_JSON   (the filter step, as the command sends it)
"""

import json
import sys

import requests

url, key, step = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
session = requests.Session()
session.headers["Authorization"] = f"Bearer {key}"
query = url + "/api/v1/query?name="
count = session.post(query + "cases.count", json={"query": [{"_name": "listCase"}, step, {"_name": "count"}]}).json()
cases = 0
for start in range(0, count + 1, 500):
    steps = [{"_name": "listCase"}, step, {"_name": "sort", "_fields": [{"_createdAt": "asc"}]}]
    page = session.post(query + "cases", json={"query": [*steps, {"_name": "page", "from": start, "to": start + 500}]})
    cases += len(page.json())
print(cases)
