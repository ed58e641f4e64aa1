# A typical agent tool call: read an uploaded CSV, summarise it, write results to outputs/,
# and show what the sandbox refuses (and how the refusal explains itself).
import csv, json, os

rows = list(csv.DictReader(open("/workspace/uploads/sales.csv")))
revenue = {}
for r in rows:
    revenue[r["region"]] = revenue.get(r["region"], 0) + int(r["units"]) * float(r["price"])

os.makedirs("/workspace/outputs", exist_ok=True)
with open("/workspace/outputs/revenue.json", "w") as f:
    json.dump(revenue, f, indent=2, sort_keys=True)

for region, total in sorted(revenue.items(), key=lambda kv: -kv[1]):
    print(f"{region:6} {total:8.2f}")

# Outside the workspace: denied by the default policy, with a message that says how to allow it.
try:
    open("/etc/hostname").read()
except PermissionError as e:
    print("blocked as expected:", e)
