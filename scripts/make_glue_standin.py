#!/usr/bin/env python3
"""Builds MNLI- and QQP-sized *stand-in* tasks from the real sentences the repository ships
(datasets/glue: SST-2, CoLA, MRPC, STS-B, RTE), in MNLI's and QQP's exact file formats.

The real MNLI (393k pairs) and QQP (364k pairs) cannot be fetched on the project's machines;
these files exercise the same path at the same size — reading, tokenizing, sharding, training
for hours, evaluating matched/mismatched and F1 — with labels a model can learn. They are not
MNLI or QQP: accuracy on them says nothing about accuracy on the real tasks.

MNLI stand-in (train.tsv 12 columns, dev_matched.tsv / dev_mismatched.tsv 16 columns, MNLI's
header and column order; `genre` is the source set):

  entailment     hypothesis = the premise with 10–30% of its words dropped (order kept);
  contradiction  the premise with words dropped the same way, plus a negation edit: "not"
                 inserted after the first auxiliary, an existing "not"/"n't" removed, an
                 antonym swapped in, or "it is not true that" prefixed;
  neutral        another sentence of the same source, with words dropped the same way.

Premises are split by sentence: train and dev_matched draw from SST-2, CoLA, MRPC and STS-B
(disjoint sentences), dev_mismatched only from RTE, held out of train.

QQP stand-in (id, qid1, qid2, question1, question2, is_duplicate): duplicate = the sentence
with words dropped and a few words swapped for near-synonyms; not duplicate = a negation edit
of it (half) or another sentence sharing words with it (half). ~37% duplicates, as in QQP.

Deterministic from --seed. Sizes default to MNLI 400,000 (the real train set has 392,702) / 9,815 / 9,832; QQP
363,846 / 40,430); --scale multiplies every split (e.g. 10 for a 4M-pair prepare test).

    python3 scripts/make_glue_standin.py --out work-data/standin [--seed 1] [--scale 1]
    # → work-data/standin/MNLI/{train,dev_matched,dev_mismatched}.tsv, work-data/standin/QQP/{train,dev}.tsv
"""
import argparse, csv, pathlib, random, re, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
GLUE = ROOT / "datasets" / "glue"
AUX = {"is", "are", "was", "were", "can", "could", "will", "would", "should", "has", "have", "had", "does", "do", "did", "may", "might", "must"}
ANTONYMS = {"good": "bad", "big": "small", "large": "small", "happy": "sad", "old": "young", "new": "old", "high": "low",
            "up": "down", "more": "less", "best": "worst", "first": "last", "early": "late", "long": "short", "open": "closed",
            "strong": "weak", "rich": "poor", "hot": "cold", "fast": "slow", "easy": "hard", "win": "lose", "won": "lost",
            "love": "hate", "always": "never", "all": "no", "increase": "decrease", "rose": "fell", "buy": "sell",
            "bought": "sold", "before": "after", "true": "false", "funny": "dull", "beautiful": "ugly", "smart": "stupid"}
ANTONYMS.update({v: k for k, v in list(ANTONYMS.items())})
SYNONYMS = {"big": "large", "small": "little", "fast": "quick", "start": "begin", "end": "finish", "buy": "purchase",
            "help": "assist", "show": "display", "said": "stated", "movie": "film", "film": "movie", "man": "person",
            "woman": "lady", "car": "vehicle", "house": "home", "happy": "glad", "often": "frequently", "about": "around"}


def tsv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def sentences():
    """Unique sentences per source (5–60 words, no tabs)."""
    src = {"sst2": [], "cola": [], "mrpc": [], "stsb": [], "rte": []}
    for split in ("train", "dev"):
        rows = tsv(GLUE / "SST-2" / f"{split}.tsv")[1:]; src["sst2"] += [r[0] for r in rows]
        rows = tsv(GLUE / "CoLA" / f"{split}.tsv"); src["cola"] += [r[3] for r in rows if r[1] == "1"]
        rows = tsv(GLUE / "MRPC" / f"{split}.tsv")[1:]; src["mrpc"] += [r[3] for r in rows] + [r[4] for r in rows]
        rows = tsv(GLUE / "STS-B" / f"{split}.tsv")[1:]; src["stsb"] += [r[7] for r in rows] + [r[8] for r in rows]
        rows = tsv(GLUE / "RTE" / f"{split}.tsv")[1:]; src["rte"] += [r[1] for r in rows] + [r[2] for r in rows]
    out = {}
    for k, v in src.items():
        seen, keep = set(), []
        for s in v:
            s = " ".join(s.split())
            if 5 <= len(s.split()) <= 60 and s not in seen:
                seen.add(s); keep.append(s)
        out[k] = keep
    return out


def drop_words(rng, s):
    w = s.split()
    k = max(1, int(len(w) * rng.uniform(0.1, 0.3)))
    gone = set(rng.sample(range(len(w)), min(k, len(w) - 2)))
    return " ".join(x for i, x in enumerate(w) if i not in gone)


def negate(rng, s):
    w = s.split()
    low = [x.lower() for x in w]
    for i, x in enumerate(low):
        if x in ("not", "n't", "never"):
            return " ".join(w[:i] + w[i + 1:])
    choices = []
    aux = next((i for i, x in enumerate(low) if x in AUX), None)
    if aux is not None:
        choices.append(lambda: " ".join(w[:aux + 1] + ["not"] + w[aux + 1:]))
    ant = [i for i, x in enumerate(low) if x in ANTONYMS]
    if ant:
        i = rng.choice(ant)
        choices.append(lambda: " ".join(w[:i] + [ANTONYMS[low[i]]] + w[i + 1:]))
    choices.append(lambda: "it is not true that " + s[0].lower() + s[1:])
    return rng.choice(choices)()


def paraphrase(rng, s):
    w = drop_words(rng, s).split() if len(s.split()) > 6 else s.split()
    return " ".join(SYNONYMS.get(x.lower(), x) if rng.random() < 0.7 else x for x in w)


def parse(s):
    return "( " + " ".join(re.sub(r"[()]", "", x) for x in s.split()) + " )"


def mnli(rng, pools, n, dev):
    rows, labels = [], ("entailment", "neutral", "contradiction")
    genres = list(pools)
    for i in range(n):
        g = genres[i % len(genres)]
        pool = pools[g]
        p = rng.choice(pool)
        lab = labels[rng.randrange(3)]
        if lab == "entailment":
            h = drop_words(rng, p)
        elif lab == "contradiction":
            h = negate(rng, drop_words(rng, p))
        else:
            q = rng.choice(pool)
            while q == p:
                q = rng.choice(pool)
            h = drop_words(rng, q)
        row = [str(i), str(1000000 + i), f"{1000000 + i}{lab[0]}", g, parse(p), parse(h), parse(p), parse(h), p, h, lab]
        rows.append(row + ([lab] * 4 + [lab] if dev else [lab]))
    return rows


def qqp(rng, pool, n, first_id):
    rows = []
    for i in range(n):
        a = rng.choice(pool)
        r = rng.random()
        if r < 0.37:
            b, dup = paraphrase(rng, a), 1
        elif r < 0.685:
            b, dup = negate(rng, paraphrase(rng, a)), 0
        else:
            words = set(a.lower().split())
            b = max((rng.choice(pool) for _ in range(8)), key=lambda c: len(words & set(c.lower().split())))
            b, dup = (b if b != a else negate(rng, a)), 0
        rows.append([str(first_id + i), str(2 * (first_id + i)), str(2 * (first_id + i) + 1), a, b, str(dup)])
    return rows


def write(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    tmp.rename(path)
    print(f"{path}: {len(rows):,} rows", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="work-data/standin")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--tasks", default="mnli,qqp")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    src = sentences()
    # Matched sources: 95% of each source's sentences for train, 5% for dev_matched.
    train_pools, dev_pools = {}, {}
    for g in ("sst2", "cola", "mrpc", "stsb"):
        s = src[g][:]; rng.shuffle(s)
        cut = len(s) // 20
        dev_pools[g], train_pools[g] = s[:cut], s[cut:]
    out = pathlib.Path(a.out)
    n = lambda k: max(1, int(k * a.scale))
    head = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse", "sentence1_parse",
            "sentence2_parse", "sentence1", "sentence2", "label1"]
    if "mnli" in a.tasks:
        write(out / "MNLI" / "train.tsv", head + ["gold_label"], mnli(rng, train_pools, n(400000), dev=False))
        dev_head = head + ["label2", "label3", "label4", "label5", "gold_label"]
        write(out / "MNLI" / "dev_matched.tsv", dev_head, mnli(rng, dev_pools, n(9815), dev=True))
        write(out / "MNLI" / "dev_mismatched.tsv", dev_head, mnli(rng, {"rte": src["rte"]}, n(9832), dev=True))
    if "qqp" in a.tasks:
        qhead = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
        pool_train = [s for g in train_pools.values() for s in g]
        pool_dev = [s for g in dev_pools.values() for s in g]
        write(out / "QQP" / "train.tsv", qhead, qqp(rng, pool_train, n(363846), 0))
        write(out / "QQP" / "dev.tsv", qhead, qqp(rng, pool_dev, n(40430), 10_000_000))


if __name__ == "__main__":
    main()
