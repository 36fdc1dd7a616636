#!/usr/bin/env python3
"""Writes a BEIR-style corpus.jsonl of N synthetic documents for scale tests.

Each document is 4-8 sentences sampled (seeded) from a source corpus such as
BEIR SciFact, so vocabulary and sentence statistics stay realistic while the
collection grows to any size. The source is read only; nothing is copied into
the repository.

  python3 bench/make_scaled_corpus.py ../shared/data/scifact/corpus.jsonl 100000 /tmp/scaled.jsonl
"""
import json
import random
import re
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    source, count, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sentences, titles = [], []
    with open(source, encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            titles.append(doc.get("title", ""))
            sentences.extend(s for s in re.split(r"(?<=[.!?])\s+", doc.get("text", "")) if len(s) > 20)
    rng = random.Random(42)
    with open(target, "w", encoding="utf-8") as out:
        for i in range(count):
            text = " ".join(rng.choice(sentences) for _ in range(rng.randint(4, 8)))
            out.write(json.dumps({"_id": f"s{i}", "title": rng.choice(titles), "text": text}) + "\n")


if __name__ == "__main__":
    main()
