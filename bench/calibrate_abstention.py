#!/usr/bin/env python3
"""Calibrates answer.abstain_threshold on the sample knowledge base.

Starts `lathe serve` (built-in embedder, extractive answerer) on a fresh data
directory holding examples/support-kb, asks every judged question of
examples/support-kb-eval/queries.jsonl and every off-topic question of
off-topic.txt through POST /v1/chat, and prints, for a range of thresholds,
how many judged questions would be answered (and answered with a citation of a
judged article) and how many off-topic questions would be handed off.

    python3 bench/calibrate_abstention.py [--lathe build/lathe] [--json OUT]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def post(url, key, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lathe", default=os.path.join(ROOT, "build", "lathe"))
    ap.add_argument("--json", help="write per-question evidence here")
    args = ap.parse_args()
    kb = os.path.join(ROOT, "examples", "support-kb")
    ev = os.path.join(ROOT, "examples", "support-kb-eval")
    queries = [json.loads(l) for l in open(os.path.join(ev, "queries.jsonl")) if l.strip()]
    qrels = {}
    for line in list(open(os.path.join(ev, "qrels.tsv")))[1:]:
        q, doc, grade = line.rstrip("\n").split("\t")
        if int(grade) > 0:
            qrels.setdefault(q, set()).add(doc)
    off = [l.strip() for l in open(os.path.join(ev, "off-topic.txt")) if l.strip()]

    with tempfile.TemporaryDirectory() as data:
        run = lambda *a: subprocess.run([args.lathe, "--data-dir", data, "--log-level", "warn", *a],
                                        check=True, capture_output=True, text=True).stdout
        run("ingest", kb, "-c", "support")
        key = run("keys", "create", "--scope", "query").strip()
        cfg = os.path.join(data, "lathe.yaml")
        with open(cfg, "w") as f:
            f.write("answer:\n  abstain_threshold: 0\n")  # answer everything; we read the evidence
        server = subprocess.Popen([args.lathe, "--data-dir", data, "--log-level", "warn", "serve", "--config", cfg,
                                   "--port", "0"], stdout=subprocess.PIPE, text=True)
        try:
            port = None
            for line in server.stdout:
                if "listening on" in line:
                    port = line.split("127.0.0.1:")[1].split()[0]
                if line.startswith("lathe: ready"):
                    break
            url = "http://127.0.0.1:%s/v1/chat" % port
            judged = []
            for q in queries:
                r = post(url, key, {"collection": "support", "message": q["text"]})
                cited = {c["doc_id"] for c in r["citations"]}
                judged.append({"id": q["_id"], "text": q["text"], "evidence": r["evidence"],
                               "cites_judged": bool(cited & qrels.get(q["_id"], set()))})
            offtopic = []
            for text in off:
                r = post(url, key, {"collection": "support", "message": text})
                offtopic.append({"text": text, "evidence": r["evidence"]})
        finally:
            server.terminate()
            server.wait()

    print("threshold  judged answered  ...citing a judged article  off-topic handed off")
    best = None
    for i in range(0, 21):
        t = i / 20
        ans = sum(1 for j in judged if j["evidence"] >= t)
        good = sum(1 for j in judged if j["evidence"] >= t and j["cites_judged"])
        off_ok = sum(1 for o in offtopic if o["evidence"] < t)
        print("%9.2f  %8d/%d  %17d/%d  %14d/%d" % (t, ans, len(judged), good, len(judged), off_ok, len(offtopic)))
        score = ans / len(judged) + off_ok / len(offtopic)
        if best is None or score > best[0]:
            best = (score, t)
    print("best balanced threshold: %.2f" % best[1])
    print("judged evidence, lowest 8:", sorted(round(j["evidence"], 3) for j in judged)[:8])
    print("off-topic evidence, highest 8:", sorted((round(o["evidence"], 3) for o in offtopic), reverse=True)[:8])
    if args.json:
        json.dump({"judged": judged, "off_topic": offtopic}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())
