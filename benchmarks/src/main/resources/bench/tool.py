# A realistic agent tool call: parse a JSON payload, validate and transform it, aggregate, and
# format a report (JSON for the agent, a text table for the user). Pure stdlib, ~50 lines.
import json

def summarize_orders(payload, min_total=20.0, top=5):
    doc = json.loads(payload)
    by_customer = {}
    skipped = []
    for order in doc["orders"]:
        items = order.get("items") or []
        if not items or order.get("status") == "cancelled":
            skipped.append(order["id"])
            continue
        total = 0.0
        for it in items:
            qty = int(it.get("qty", 1))
            price = float(it["price"])
            discount = float(it.get("discount", 0.0))
            total += qty * price * (1.0 - discount)
        if total < min_total:
            skipped.append(order["id"])
            continue
        c = by_customer.setdefault(order["customer"], {"orders": 0, "revenue": 0.0, "skus": set()})
        c["orders"] += 1
        c["revenue"] += total
        c["skus"].update(it["sku"] for it in items)
    ranked = sorted(by_customer.items(), key=lambda kv: (-kv[1]["revenue"], kv[0]))
    rows = []
    for name, c in ranked[:top]:
        rows.append({
            "customer": name,
            "orders": c["orders"],
            "revenue": round(c["revenue"], 2),
            "avg_order": round(c["revenue"] / c["orders"], 2),
            "distinct_skus": len(c["skus"]),
        })
    revenue = sum(c["revenue"] for c in by_customer.values())
    width = max([len(r["customer"]) for r in rows] + [8])
    lines = [f"{'customer':<{width}}  {'orders':>6}  {'revenue':>10}  {'avg':>8}"]
    for r in rows:
        lines.append(f"{r['customer']:<{width}}  {r['orders']:>6}  {r['revenue']:>10.2f}  {r['avg_order']:>8.2f}")
    report = {
        "customers": len(by_customer),
        "revenue": round(revenue, 2),
        "skipped": sorted(skipped),
        "top": rows,
        "table": "\n".join(lines),
    }
    return json.dumps(report, sort_keys=True)

result = summarize_orders(PAYLOAD)
print(result[:60])
