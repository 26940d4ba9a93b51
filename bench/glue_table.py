"""Writes bench/results/glue.{md,tsv} from bench/results/glue/*.json (see glue_results.sh) and
copies the table into docs/RESULTS.md between its glue-results markers."""
import glob
import json
import os

ORDER = ["rte", "mrpc", "stsb", "cola", "sst2"]
METHODS = {"dcft8": "DCFT d=8", "dcft2": "DCFT d=2", "lora1": "LoRA r=1", "lora8": "LoRA r=8",
           "head": "head only", "full": "full fine-tuning"}
NAMES = {"rte": "RTE", "mrpc": "MRPC", "stsb": "STS-B", "cola": "CoLA", "sst2": "SST-2"}


def metric_text(ev, headline):
    keys = [headline] + sorted(k for k in ev if k != headline)
    return " / ".join(f"{k} {ev[k]:.4f}" for k in keys)


def main():
    rows = [json.load(open(p)) for p in glob.glob("bench/results/glue/*.json")]
    def key(r):
        task, method = r["row"].split("-", 1)
        return (ORDER.index(task), list(METHODS).index(method))
    rows.sort(key=key)
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/glue.tsv", "w") as f:
        f.write("row\theadline\tbest\tbest_step\tlast\ttrainable\tadapters\thead\tallreduce_bytes\tsteps\tmedian_step_ms\twall_s\tcommand\n")
        for r in rows:
            f.write("\t".join(str(x) for x in [
                r["row"], r["headline"], r["best"][r["headline"]], r["best_step"], r["last"][r["headline"]],
                r["trainable"], r["adapters"], r["head"], r["allreduce_bytes"], r["steps"],
                round(r["median_step_ms"], 1), round(r["wall_s"], 1), r["command"]]) + "\n")
    with open("bench/results/glue.md", "w") as f:
        f.write("| task | method | dev: best (step) | dev: last | trainable: adapters + head | allreduce / step | steps | wall |\n")
        f.write("|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            task, method = r["row"].split("-", 1)
            h = r["headline"]
            params = (f"{r['trainable']:,} (all)" if method == "full"
                      else f"{r['adapters']:,} + {r['head']:,}")
            f.write(f"| {NAMES[task]} | {METHODS[method]} | {h} {r['best'][h]:.4f} ({r['best_step']}) | "
                    f"{metric_text(r['last'], h)} | {params} | {r['allreduce_bytes'] / 1000:,.0f} KB | "
                    f"{r['steps']} | {r['wall_s']:.0f} s{' (note)' if r.get('note') else ''} |\n")
        for r in rows:
            if r.get("note"):
                f.write(f"\nNote ({r['row']}): {r['note']}.\n")
        f.write("\nCommands (from the repository root, after `dcft prepare` of the task as in the config's header):\n\n")
        for r in rows:
            f.write(f"- {r['row']}: `{r['command'].strip()}`\n")


def splice_readme():
    """Replaces the table between docs/RESULTS.md's glue-results markers with bench/results/glue.md."""
    begin, end = "<!-- glue-results:begin -->", "<!-- glue-results:end -->"
    try:
        text = open("docs/RESULTS.md").read()
    except FileNotFoundError:
        return
    if begin not in text or end not in text:
        return
    table = open("bench/results/glue.md").read()
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    open("docs/RESULTS.md", "w").write(head + begin + "\n" + table + end + tail)


if __name__ == "__main__":
    main()
    splice_readme()
