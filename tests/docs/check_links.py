#!/usr/bin/env python3
"""Checks that the references of README.md and docs/*.md resolve inside the project.

  check_links.py ROOT
  check_links.py --selftest     (checks the checker on a small made-up project)

- Markdown links [text](target): a relative target must name a file or
  directory of the project (relative to the document), and a #fragment a
  heading of the target document (GitHub's anchors: lower case, punctuation
  dropped, spaces as '-').
- File references: every NAME.md mentioned anywhere in the text, and every
  path in backticks that starts with a top-level directory of the project
  (`docs/TOOLS.md`, `tests/integration/it_ops.sh`, `schemas/`), must exist,
  relative to the project root or to the document. Paths with placeholders
  (<name>, *, $VAR, ...) are skipped.
Prints one line per broken reference and exits 1 when there is one.
"""
import os
import re
import sys

LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
MD_NAME = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w.-]+\.md)(?![\w/-])")
FENCE = re.compile(r"^(```|~~~)")
PLACEHOLDER = re.compile(r"[<>*$?{}\[\]|]|\.\.\.")


def slug(heading):
    """GitHub's anchor of a heading text."""
    h = re.sub(r"`", "", heading.strip().lower())
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        found, seen, fenced = set(), {}, False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if FENCE.match(line):
                    fenced = not fenced
                    continue
                m = None if fenced else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
                if m:
                    s = slug(m.group(1))
                    n = seen.get(s, 0)
                    seen[s] = n + 1
                    found.add(s if n == 0 else f"{s}-{n}")
        cache[path] = found
    return cache[path]


def split_text(path):
    """(line number, text outside code fences, fenced?) of each line."""
    fenced = False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            yield n, line, fenced


def check(root, doc):
    problems = []
    here = os.path.dirname(doc)
    tops = {e for e in os.listdir(root) if not e.startswith(".")}
    rel = os.path.relpath(doc, root)

    def exists(p):
        return any(os.path.exists(os.path.normpath(os.path.join(b, p))) for b in (here, root))

    for n, line, fenced in split_text(doc):
        if not fenced:
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                    continue
                path, _, frag = target.partition("#")
                full = os.path.normpath(os.path.join(here, path)) if path else doc
                if path and not os.path.exists(full):
                    problems.append(f"{rel}:{n}: link to {path}: no such file in the project")
                    continue
                if frag and full.endswith(".md") and frag not in anchors(full):
                    problems.append(f"{rel}:{n}: link to {target}: no heading '#{frag}' in "
                                    f"{os.path.relpath(full, root)}")
        # A link's own text names its target, which was checked above.
        text = LINK.sub("", line) if not fenced else line
        text = re.sub(r"https?://\S+", "", text)
        for name in MD_NAME.findall(text):
            if not PLACEHOLDER.search(name) and not exists(name):
                problems.append(f"{rel}:{n}: {name}: no such file in the project")
        if fenced:
            continue
        for span in CODE_SPAN.findall(line):
            for word in span.split():
                word = word.rstrip(",;:)").lstrip("(")
                first = word.split("/", 1)[0]
                if ("/" not in word or first not in tops or PLACEHOLDER.search(word)
                        or word.endswith(".md")):
                    continue
                path = word.split("#", 1)[0].split(":", 1)[0]
                if not exists(path):
                    problems.append(f"{rel}:{n}: `{word}`: no such file in the project")
    return problems


def selftest():
    """A made-up project with one reference of each kind, good and broken."""
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "docs"))
        os.makedirs(os.path.join(root, "tests", "x"))
        open(os.path.join(root, "tests", "x", "t.sh"), "w").close()
        files = {
            "README.md": "# Top\n"
                         "[guide](docs/GUIDE.md#the-part) [gone](docs/GONE.md)\n"
                         "[bad anchor](docs/GUIDE.md#no-such-part) [web](https://example.org/x.md)\n"
                         "See DESIGN.md §3 and `tests/x/t.sh` and `tests/x/none.sh`.\n"
                         "Topics `hs/raw/<sid>`, files `services/<name>/x.c`, [self](#top)\n"
                         "```\nDESIGN2.md in a fence is a name too\n[x](nowhere.md)\n```\n",
            "docs/GUIDE.md": "# Guide\n## The part\n[back](../README.md#top) env/NOTES.md\n",
        }
        for name, text in files.items():
            with open(os.path.join(root, name), "w", encoding="utf-8") as f:
                f.write(text)
        got = sorted(p.split(": ", 1)[0] + ": " + p.split(": ", 1)[1].split(":")[0]
                     for p in check(root, os.path.join(root, "README.md")) +
                     check(root, os.path.join(root, "docs", "GUIDE.md")))
        want = sorted([
            "README.md:2: link to docs/GONE.md",
            "README.md:3: link to docs/GUIDE.md#no-such-part",
            "README.md:4: DESIGN.md",
            "README.md:4: `tests/x/none.sh`",
            "README.md:7: DESIGN2.md",
            "README.md:8: nowhere.md",
            "docs/GUIDE.md:3: env/NOTES.md",
        ])
        if got != want:
            print("selftest: expected", want, "got", got, sep="\n  ")
            return 1
    print(f"selftest ok: the {len(want)} broken references found, none else")
    return 0


def main():
    if sys.argv[1:] == ["--selftest"]:
        return selftest()
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    docs = [os.path.join(root, "README.md")]
    ddir = os.path.join(root, "docs")
    docs += sorted(os.path.join(ddir, f) for f in os.listdir(ddir) if f.endswith(".md"))
    problems = []
    for d in docs:
        problems += check(root, d)
    for p in problems:
        print(p)
    print(f"{len(docs)} documents checked, {len(problems)} broken reference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
