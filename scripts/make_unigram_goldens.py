#!/usr/bin/env python3
"""Regenerate the DeBERTa-v3 style SentencePiece Unigram fixture and its goldens.

The Swift Unigram tokenizer (Sources/DataPipeline/Unigram*.swift, PrecompiledNormalizer.swift,
SentencePieceModel.swift) is checked against transformers' `DebertaV2Tokenizer`, which in
transformers 5 is the fast (Rust `tokenizers`) tokenizer that 4.x called
`DebertaV2TokenizerFast`. This script is the only place that runs it; the Swift tests read what
it writes. Reference versions (what the committed goldens were made with):

    pip install tokenizers==0.23.3 transformers==5.25.0 sentencepiece==0.2.3 protobuf

Run from anywhere (about a minute), then `swift test --filter DataPipelineTests`:

    python3 scripts/make_unigram_goldens.py

What it does:
 1. Trains a tiny Unigram model with the `sentencepiece` trainer (deterministic: one thread,
    no input shuffling) on GLUE train text shipped in datasets/glue (RTE, STS-B, CoLA and the
    first 20,000 SST-2 sentences): vocabulary 3000, byte_fallback on, normalization rule
    nmt_nfkc (DeBERTa-v3's), and DeBERTa-v3's piece layout: [PAD]=0, [CLS]=1, [SEP]=2 as
    control pieces, [UNK]=3. As in microsoft/deberta-v3-*, [MASK] is not an spm piece:
    transformers adds it after the vocabulary (id 3000 here).
 2. Writes Fixtures/deberta-unigram/spm.model, and tokenizer.json + tokenizer_config.json as
    `DebertaV2Tokenizer.from_pretrained(<dir with spm.model only>).save_pretrained(...)` writes
    them. The tokenizer reloaded from that tokenizer.json alone must agree on every string.
 3. Goldens (Fixtures/goldens/):
    glue-deberta-unigram.txt   the GLUE rows of make_tokenizer_goldens.GLUE_SETS, same format
    unigram-torture.json       a Unicode torture list (with its text) and pairs, at several
                               max lengths; plus `byte_fallback` ids from the same
                               tokenizer.json with "byte_fallback": true (transformers
                               itself builds DeBERTa-v2 with byte_fallback off), and
                               `variant` ids from a tokenizer.json with other normalizers
                               (Lowercase, Strip both, ``/'' → ", see VARIANT) and
                               prepend_scheme "first", and `converter` ids from the pipeline
                               transformers 4 wrote (DebertaV2Converter: Strip both,
                               charsmap, space runs; Metaspace "always").
    unigram-sweep.txt          per-block hashes of the ids of make_tokenizer_goldens.sweep_text
                               over most of Unicode (charsmap and grapheme handling).
 4. Compares with the slow path, `sentencepiece.SentencePieceProcessor` on the same model (what
    transformers 4.x's slow `DebertaV2Tokenizer` ran) and stops unless every difference is one
    of KNOWN_SLOW_DIFFERENCES or [UNK] where sentencepiece falls back to bytes (see compare_slow).
"""
import base64
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tokenizer_goldens as mtg  # noqa: E402

ROOT = mtg.ROOT
FIXTURE = os.path.join(mtg.FIX, "deberta-unigram")
GOLD = mtg.GOLD
NAME = "deberta-unigram"
VOCAB_SIZE = 3000

TORTURE = [
    "",
    " ",
    "      ",
    "\t",
    "\n\n",
    "  leading and trailing  ",
    "tabs\tand\nnewlines\r\nand  multiple   spaces",
    "nbsp\u00a0here en\u2002em\u2003thin\u2009hair\u200a ideo\u3000graphic nnbsp\u202f line\u2028para\u2029 nel\u0085",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom \u00adsoft hyphen",
    "control\u0000chars\u0001here\u0007bell\u001bescape\u007fdel \ufffd replacement",
    "Héllo Wörld! Ça va? naïve café résumé coöperate",
    "ÀÉÎÕÜ àéîõü ñÑ ß ẞ ǅ ǈ Å Ω K ﬁ ﬂ",
    "e\u0301 a\u0300\u0323 o\u0302\u0323 \u1e09 \u0344 x\u0301\u0327\u0300 q\u0307\u0323",
    "\u0301leading combining mark and a\u20dd enclosed",
    "İstanbul ΣΑΣ σας ΌΣΟΣ Ἀθῆναι",
    "中文字符测试 日本語のテキスト カタカナ ｶﾀｶﾅ 㐀 𠀀 丽 ＣＪＫ",
    "한국어 텍스트 \u1112\u1161\u11ab\u1100\u1173\u11af conjoining jamo ㄱㄴㄷ",
    "emoji 🤗🥰👍🏽 👨‍👩‍👧 👩🏾‍💻 🏳️‍🌈 ❤️ flags 🇺🇸🇩🇪 keycap 1️⃣ #️⃣",
    "skin tones 👋🏻👋🏼👋🏽👋🏾👋🏿 and ZWJ 🧑‍🤝‍🧑 👁️‍🗨️",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ！？ ｈｅｌｌｏ，ｗｏｒｌｄ",
    "ﬀ ﬃ ㎏ ℌ ℃ ™ № ½ ² ⁴ ① Ⅻ ㍻ ㈱",
    "``double backticks'' and ''two quotes'' \"plain\" `one' “curly” ‘single’",
    "“Quoted” ‘single’ — em – en … ¿Qué? ¡Hola! «guillemets» 「括弧」",
    "Привет мир Ελληνικά עברית العربية हिन्दी ไทย ქართული Ծ",
    "supercalifragilisticexpialidocious" * 8,
    "a" * 300,
    "x" + "!" * 150 + " " + "é" * 120,
    "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
    "[CLS] hello [SEP] [MASK] [mask] [PAD][UNK] x[MASK]y  [MASK]  ",
    "<0x41> <0xFF> literal byte pieces and ▁ lower one eighth block ▁▁x",
    "Hello,world!!! (test) [brackets] {braces} a-b_c~d`e@f#g$h%i^j&k*l+m=n|o\\p/q<r>s?t;u:v",
    "123 4.56 7,890 1st 2nd 3rd ٣ 五",
    "I'm you're we've they'll he'd it's don't can't o'clock",
    "The quick brown fox jumps over the lazy dog. " * 20,
    "mixed\u3000ideographic\u3000spaces and\u00a0\u00a0double nbsp",
    "trailing whitespace \t\n\u00a0\u3000",
    "\ufeffstarts with a BOM",
    "\U0001d400\U0001d401 mathematical bold, \U0001f600 grin, \U000e0041 tag, \U0010fffd plane 16",
]

# The existing tokenizers' edge pairs, with a last pair that adds full-width letters, [MASK] and `` ''.
PAIRS = mtg.EDGE_PAIRS[:-1] + [("Héllo Wörld naïve ｆｕｌｌ", "中文 😀 control\u0000x [MASK] ``q''")]
MAX_LENGTHS = [128, 12, 7, 5]


def glue_texts(glue):
    texts = []
    for row in mtg.read_tsv(glue, "RTE", "train", True):
        texts += [row[1], row[2]]
    for row in mtg.read_tsv(glue, "STS-B", "train", True):
        texts += [row[7], row[8]]
    for row in mtg.read_tsv(glue, "CoLA", "train", False):
        texts.append(row[3])
    for row in mtg.read_tsv(glue, "SST-2", "train", True)[:20000]:
        texts.append(row[0])
    return texts


def train(glue):
    import io
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(glue_texts(glue)), model_writer=model, model_type="unigram",
        vocab_size=VOCAB_SIZE, byte_fallback=True, character_coverage=0.9995,
        normalization_rule_name="nmt_nfkc", pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]",
        eos_id=2, eos_piece="[SEP]", unk_id=3, unk_piece="[UNK]", num_threads=1,
        shuffle_input_sentence=False, seed_sentencepiece_size=100000, minloglevel=2)
    os.makedirs(FIXTURE, exist_ok=True)
    with open(os.path.join(FIXTURE, "spm.model"), "wb") as f:
        f.write(model.getvalue())


def check_layout():
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    with open(os.path.join(FIXTURE, "spm.model"), "rb") as f:
        proto.ParseFromString(f.read())
    layout = [(p.piece, pb.ModelProto.SentencePiece.Type.Name(p.type)) for p in proto.pieces[:5]]
    expected = [("[PAD]", "CONTROL"), ("[CLS]", "CONTROL"), ("[SEP]", "CONTROL"), ("[UNK]", "UNKNOWN"),
                ("<0x00>", "BYTE")]
    if layout != expected:
        mtg.die("unexpected spm layout %r" % layout)
    assert proto.trainer_spec.model_type == pb.TrainerSpec.UNIGRAM and proto.trainer_spec.byte_fallback
    return spm.SentencePieceProcessor(model_file=os.path.join(FIXTURE, "spm.model"))


def load_tokenizers():
    """(primary, alternative): from spm.model alone (transformers converts it), and from the
    tokenizer.json that one saves (what the fixture directory holds)."""
    from transformers import DebertaV2Tokenizer

    tmp = tempfile.mkdtemp()
    spm_only = os.path.join(tmp, "spm-only")
    os.makedirs(spm_only)
    shutil.copy(os.path.join(FIXTURE, "spm.model"), spm_only)
    primary = DebertaV2Tokenizer.from_pretrained(spm_only)
    primary.save_pretrained(os.path.join(tmp, "saved"))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tmp, "saved", name), FIXTURE)
    json_only = os.path.join(tmp, "json-only")
    os.makedirs(json_only)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(FIXTURE, name), json_only)
    alt = DebertaV2Tokenizer.from_pretrained(json_only)
    for name, tok in (("spm", primary), ("json", alt)):
        if len(tok) != VOCAB_SIZE + 1 or tok.mask_token_id != VOCAB_SIZE:
            mtg.die("%s: %d tokens, [MASK] = %s" % (name, len(tok), tok.mask_token_id))
        ids = (tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.unk_token_id)
        if ids != (0, 1, 2, 3):
            mtg.die("%s: special ids %r" % (name, ids))
    return primary, alt


# Another pipeline over the same model, to test what transformers' DeBERTa path does not emit:
# the normalizers of convert_slow_tokenizer.DebertaV2Converter plus do_lower_case and the
# ``/'' quote replacements other SentencePiece converters use, and prepend_scheme "first".
VARIANT = {
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Lowercase"},
        {"type": "Strip", "strip_left": True, "strip_right": True},
        "PRECOMPILED",
        {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
        {"type": "Replace", "pattern": {"String": "''"}, "content": "\""},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
}


def converter_pipeline():
    """The normalizer and pre_tokenizer transformers 4 wrote for DeBERTa-v2/v3 (what a tokenizer.json
    saved then holds): convert_slow_tokenizer.DebertaV2Converter on the fixture's spm.model."""
    import types
    import warnings
    from transformers.convert_slow_tokenizer import DebertaV2Converter

    slow = types.SimpleNamespace(vocab_file=os.path.join(FIXTURE, "spm.model"), do_lower_case=False,
                                 split_by_punct=False, add_prefix_space=True, legacy=True,
                                 convert_tokens_to_ids=lambda t: {"[CLS]": 1, "[SEP]": 2}[t])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "byte fallback ... not implemented in the fast tokenizers"
        spec = json.loads(DebertaV2Converter(slow).converted().to_str())
    return spec["normalizer"], spec["pre_tokenizer"]


def variant_tokenizer(normalizer, pre_tokenizer):
    """(tokenizer, JSON text of its "normalizer" and "pre_tokenizer" members): the fixture's
    tokenizer.json with those two members replaced ("PRECOMPILED" = the fixture's charsmap)."""
    from tokenizers import Tokenizer

    with open(os.path.join(FIXTURE, "tokenizer.json")) as f:
        spec = json.load(f)
    precompiled = [n for n in spec["normalizer"]["normalizers"] if n["type"] == "Precompiled"][0]
    normalizer = json.loads(json.dumps(normalizer))
    normalizer["normalizers"] = [precompiled if n == "PRECOMPILED" else n for n in normalizer["normalizers"]]
    spec["normalizer"] = normalizer
    spec["pre_tokenizer"] = pre_tokenizer
    # The torture file stores the members with the charsmap (320 kB of base64) left out.
    written = json.loads(json.dumps(normalizer))
    written["normalizers"] = [dict(n, precompiled_charsmap="CHARSMAP") if n["type"] == "Precompiled" else n
                              for n in written["normalizers"]]
    members = '"normalizer": %s, "pre_tokenizer": %s, ' % (
        json.dumps(written, ensure_ascii=True), json.dumps(pre_tokenizer, ensure_ascii=True))
    return Tokenizer.from_str(json.dumps(spec)), members


def byte_fallback_tokenizer():
    from tokenizers import Tokenizer

    with open(os.path.join(FIXTURE, "tokenizer.json")) as f:
        spec = json.load(f)
    assert spec["model"]["byte_fallback"] is False
    spec["model"]["byte_fallback"] = True
    return Tokenizer.from_str(json.dumps(spec))


def write_glue(glue, pair):
    from importlib.metadata import version
    stamp = "tokenizers=%s transformers=%s sentencepiece=%s" % (
        version("tokenizers"), version("transformers"), version("sentencepiece"))
    out = ["# DataPipeline tokenizer goldens: %s, %s" % (NAME, stamp),
           "# generated by scripts/make_unigram_goldens.py; do not edit. Text is read from",
           "# the GLUE TSVs at test time; rows are in file order."]
    for task, split, header, cols, max_length, mode in mtg.GLUE_SETS:
        rows = mtg.read_tsv(glue, task, split, header)
        out.append("@ task=%s split=%s header=%d columns=%s max_length=%d mode=%s rows=%d" % (
            task, split, int(header), ",".join(map(str, cols)), max_length, mode, len(rows)))
        for row in rows:
            a = row[cols[0]]
            b = row[cols[1]] if len(cols) > 1 else None
            ids, types = mtg.encode_checked(NAME, pair, a, b, max_length)
            k = mtg.leading_zeros(types)
            out.append(("%d:" % k + " ".join(map(str, ids))) if mode == "ids" else mtg.fnv32(ids, k))
    path = os.path.join(GOLD, "glue-%s.txt" % NAME)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote", os.path.relpath(path, ROOT), os.path.getsize(path), "bytes")


def write_torture(pair, byte_tok, variants):
    cases = [{"a": t} for t in TORTURE] + [{"a": a, "b": b} for a, b in PAIRS]
    for case in cases:
        results = {}
        for max_length in MAX_LENGTHS + [None]:
            ids, types = mtg.encode_checked(NAME, pair, case["a"], case.get("b"), max_length)
            results[str(max_length or 0)] = {"ids": ids, "k": mtg.leading_zeros(types)}
        case["ids"] = results
        if "b" not in case:
            case["byte_fallback"] = byte_tok.encode(case["a"]).ids
            for name, (tok, _) in variants.items():
                case[name] = tok.encode(case["a"]).ids
    path = os.path.join(GOLD, "unigram-torture.json")
    with open(path, "w") as f:
        json.dump({"comment": "scripts/make_unigram_goldens.py. max_length 0 = no truncation. k = number of "
                              "leading token_type_id 0s. byte_fallback: ids with special tokens, no truncation, "
                              "from tokenizer.json with model.byte_fallback true. variant: ids with special tokens "
                              "from tokenizer.json with its normalizer and pre_tokenizer members replaced by "
                              "variant_members (see make_unigram_goldens.VARIANT) with CHARSMAP replaced by the "
                              "tokenizer.json's precompiled_charsmap; converter: the same with converter_members "
                              "(transformers 4's DebertaV2Converter).",
                   "variant_members": variants["variant"][1],
                   "converter_members": variants["converter"][1],
                   "cases": cases}, f, ensure_ascii=True, indent=0)
        f.write("\n")
    print("wrote", os.path.relpath(path, ROOT), os.path.getsize(path), "bytes")


def write_sweep(pair):
    tok, alt = pair
    out = ["# Unigram Unicode sweep: FNV-1a 32 of the ids of sweep_text(lo, hi) (no special tokens,",
           "# no truncation), K = 0. See make_tokenizer_goldens.py: sweep_text.",
           "@ block=%d ranges=%s" % (mtg.SWEEP_BLOCK, ",".join("%x-%x" % r for r in mtg.SWEEP_RANGES)),
           "@ tokenizer=%s" % NAME]
    for lo0, hi0 in mtg.SWEEP_RANGES:
        for lo in range(lo0, hi0 + 1, mtg.SWEEP_BLOCK):
            hi = min(lo + mtg.SWEEP_BLOCK - 1, hi0)
            text = mtg.sweep_text(lo, hi)
            ids = tok(text, add_special_tokens=False)["input_ids"]
            if alt(text, add_special_tokens=False)["input_ids"] != ids:
                mtg.die("loading paths disagree on sweep block %x" % lo)
            out.append("%x %s" % (lo, mtg.fnv32(ids, 0)))
    path = os.path.join(GOLD, "unigram-sweep.txt")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote", os.path.relpath(path, ROOT), os.path.getsize(path), "bytes")


# Where sentencepiece itself (the slow path) and the tokenizers pipeline disagree, with the
# byte fallback on both sides (tokenizers' with "byte_fallback": true): every GLUE dev text
# agrees; these torture strings do not, for the reasons given. compare_slow stops on any other.
KNOWN_SLOW_DIFFERENCES = {
    TORTURE[7]: "Strip(right) removes a trailing U+0085 (Rust char::is_whitespace); sentencepiece "
                "only trims spaces",
    TORTURE[12]: "tokenizers' Precompiled works per grapheme: a cluster under 6 bytes is replaced by "
                 "the mapping of its shortest matching prefix (a\u0300\u0323 -> \u00e0, the "
                 "dot below dropped); sentencepiece matches the longest prefix character by character",
    TORTURE[16]: "the same per-grapheme rule: conjoining jamo clusters of 6+ bytes are mapped scalar "
                 "by scalar (no composition to syllables), sentencepiece composes them",
    TORTURE[28]: "[CLS] [SEP] [MASK] [PAD] [UNK] are added tokens in transformers; sentencepiece "
                 "spells control pieces out as text",
    TORTURE[29]: "tokenizers' Unigram matches any piece, so the literal text <0x41> is the byte "
                 "piece; sentencepiece never matches byte pieces from text",
}


def compare_slow(sp, tok, byte_tok, glue):
    """The slow path, sentencepiece.SentencePieceProcessor.encode on the same model (what
    transformers 4's slow DebertaV2Tokenizer ran), against the fast tokenizer without special
    tokens: (1) with byte fallback on both sides, identical except KNOWN_SLOW_DIFFERENCES;
    (2) as transformers builds DeBERTa-v2 (no byte fallback), the remaining differences are
    exactly where sentencepiece falls back to <0xNN> pieces and the fast tokenizer emits [UNK]."""
    texts = list(TORTURE)
    for task, split, header, cols, _, _ in mtg.GLUE_SETS:
        if split != "dev":
            continue
        for row in mtg.read_tsv(glue, task, split, header):
            texts += [row[c] for c in cols]
    texts = list(dict.fromkeys(texts))
    byte_ids = set(range(4, 260))
    differ_bytes, differ_unk = [], 0
    for text in texts:
        slow = sp.encode(text)
        if byte_tok.encode(text, add_special_tokens=False).ids != slow:
            differ_bytes.append(text)
            continue
        fast = tok(text, add_special_tokens=False)["input_ids"]
        if fast != slow:
            # Every run of byte pieces in the slow ids must be one [UNK] in the fast ids.
            collapsed = []
            for i in slow:
                if i in byte_ids:
                    if not collapsed or collapsed[-1] != tok.unk_token_id:
                        collapsed.append(tok.unk_token_id)
                else:
                    collapsed.append(i)
            if collapsed != fast:
                mtg.die("slow and fast differ beyond byte fallback on %r" % text)
            differ_unk += 1
    unexplained = [t for t in differ_bytes if t not in KNOWN_SLOW_DIFFERENCES]
    if unexplained:
        mtg.die("slow (sentencepiece) and fast differ on %d unexplained texts, e.g. %r" % (len(unexplained), unexplained[0]))
    print("slow (sentencepiece) vs fast on %d distinct texts (GLUE dev + torture): with byte fallback on both, "
          "%d identical, %d known differences:" % (len(texts), len(texts) - len(differ_bytes), len(differ_bytes)))
    for text in differ_bytes:
        print("  %r: %s" % (text[:40], KNOWN_SLOW_DIFFERENCES[text]))
    print("  as DebertaV2Tokenizer builds it (byte fallback off), %d more texts have one [UNK] for each run of "
          "<0xNN> pieces sentencepiece emits, and nothing else differs" % differ_unk)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--glue", default=os.path.join(ROOT, "datasets", "glue"))
    args = ap.parse_args()
    train(args.glue)
    sp = check_layout()
    primary, alt = load_tokenizers()
    byte_tok = byte_fallback_tokenizer()
    os.makedirs(GOLD, exist_ok=True)
    write_glue(args.glue, (primary, alt))
    converter = converter_pipeline()
    variants = {"variant": variant_tokenizer(VARIANT["normalizer"], VARIANT["pre_tokenizer"]),
                "converter": variant_tokenizer(converter[0], converter[1])}
    write_torture((primary, alt), byte_tok, variants)
    write_sweep((primary, alt))
    compare_slow(sp, primary, byte_tok, args.glue)
    total = sum(os.path.getsize(os.path.join(FIXTURE, n)) for n in os.listdir(FIXTURE))
    print("fixture %s: %d bytes" % (os.path.relpath(FIXTURE, ROOT), total))


if __name__ == "__main__":
    main()
