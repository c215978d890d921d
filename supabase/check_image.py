#!/usr/bin/env python3
"""Checks supabase/Dockerfile without Docker (python3 stdlib only).

Always: the Dockerfile parses (instructions, line continuations, ARG before
FROM, JSON forms), every file it copies exists in the build context (the
repository), and the conf.d file it installs restates both lists with trajc.
With --supabase-postgres GITDIR (a clone of github.com/supabase/postgres):
every path and setting the Dockerfile relies on is the one that repository's
own files use (its Dockerfile-15, flake.nix, nix/postgresql/generic.nix,
ansible/files/postgresql_config/*, ansible/vars.yml), at its HEAD.

Prints one line per check; exits 1 if any fails. It never builds or runs an
image: what it cannot check is listed in README.md, "Supabase".
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
                "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
                "HEALTHCHECK", "SHELL"}
FAILED = []


def check(ok, what, detail=""):
    print(("ok      " if ok else "FAILED  ") + what + (("\n        " + detail) if detail and not ok else ""))
    if not ok:
        FAILED.append(what)
    return ok


def parse_dockerfile(text):
    """[(line number, INSTRUCTION, arguments)]; raises ValueError when it does not parse."""
    out, buf, start = [], "", None
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped
        if start is None:
            start = n
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        buf += line
        word, _, args = buf.strip().partition(" ")
        if word.upper() not in INSTRUCTIONS:
            raise ValueError("line %d: unknown instruction %r" % (start, word))
        if "<<" in args and word.upper() in ("RUN", "COPY"):
            raise ValueError("line %d: heredocs are not used here" % start)
        out.append((start, word.upper(), args.strip()))
        buf, start = "", None
    if buf:
        raise ValueError("the file ends inside a continued line")
    if not out:
        raise ValueError("no instruction")
    seen_from = False
    for n, word, args in out:
        if word == "FROM":
            seen_from = True
            if not args:
                raise ValueError("line %d: FROM without an image" % n)
        elif not seen_from and word != "ARG":
            raise ValueError("line %d: %s before the first FROM" % (n, word))
        if word in ("CMD", "ENTRYPOINT", "SHELL") and args.startswith("["):
            json.loads(args)
        if word in ("COPY", "ADD") and len([a for a in args.split() if not a.startswith("--")]) < 2:
            raise ValueError("line %d: %s needs a source and a destination" % (n, word))
    return out


def copies(instructions):
    """(sources, destination) of every COPY that reads the build context."""
    for _, word, args in instructions:
        if word != "COPY":
            continue
        parts = args.split()
        if any(p.startswith("--from") for p in parts):
            continue
        paths = [p for p in parts if not p.startswith("--")]
        yield paths[:-1], paths[-1]


def conf_value(text, name):
    m = re.search(r"^\s*%s\s*=\s*'([^']*)'" % re.escape(name), text, re.M)
    return m.group(1) if m else None


def listed(value):
    return [v.strip() for v in value.split(",")] if value is not None else None


def git_show(gitdir, path):
    return subprocess.run(["git", "--git-dir", gitdir, "show", "HEAD:" + path],
                          capture_output=True, text=True, check=True).stdout


def check_local(dockerfile):
    with open(dockerfile) as f:
        text = f.read()
    try:
        instructions = parse_dockerfile(text)
        check(True, "the Dockerfile parses (%d instructions)" % len(instructions))
    except ValueError as e:
        check(False, "the Dockerfile parses", str(e))
        return None
    for sources, dest in copies(instructions):
        for s in sources:
            check(os.path.exists(os.path.join(REPO, s)), "COPY source %s exists in the build context" % s)
    with open(os.path.join(HERE, "conf.d", "trajc.conf")) as f:
        conf = f.read()
    for name in ("shared_preload_libraries", "supautils.privileged_extensions"):
        values = listed(conf_value(conf, name))
        check(values is not None and values[-1] == "trajc" and values.count("trajc") == 1,
              "conf.d/trajc.conf restates %s ending with trajc" % name)
    return {"text": text, "instructions": instructions, "conf": conf}


def check_against(gitdir, local):
    ours, conf = local["text"], local["conf"]
    base = git_show(gitdir, "Dockerfile-15")
    flake = git_show(gitdir, "flake.nix")
    generic = git_show(gitdir, "nix/postgresql/generic.nix")
    pgconf = git_show(gitdir, "ansible/files/postgresql_config/postgresql.conf.j2")
    supautils = git_show(gitdir, "ansible/files/postgresql_config/supautils.conf.j2")
    vars_yml = git_show(gitdir, "ansible/vars.yml")
    pg_net = git_show(gitdir, "nix/ext/pg_net.nix")

    tag = re.search(r"^ARG SUPABASE_POSTGRES_TAG=(\S+)", ours, re.M).group(1)
    release = re.search(r'postgres15:\s*"([^"]+)"', vars_yml)
    check(release is not None and release.group(1) == tag,
          "the default tag %s is supabase/postgres's postgres15 release (ansible/vars.yml)" % tag)
    check("COPY . /nixpg" in base and "nix profile install .#psql_15/bin" in base,
          "the image holds its flake at /nixpg and runs psql_15/bin from the default profile")
    check(re.search(r"^FROM base as production|^FROM gosu as production", base, re.M) is not None
          and re.search(r"^FROM base as gosu", base, re.M) is not None,
          "... in the stage the published image is (production derives from base, keeping /nixpg)")
    check("ln -s /nix/var/nix/profiles/default/share/postgresql/* /usr/share/postgresql/" in base,
          "/usr/share/postgresql/* are links into the default profile (extension control files)")
    check('CMD ["postgres", "-D", "/etc/postgresql"]' in base
          and "/etc/postgresql/postgresql.conf" in base,
          "the server runs with /etc/postgresql/postgresql.conf")
    check(re.search(r"psql_15 = postgresVersions\.psql_15", flake) is not None
          and "inherit postgresql_15 postgresql_16;" in flake
          and "flattenTree basePackages" in flake,
          "flake.nix exports psql_15/bin and postgresql_15 (used by supabase/nix/psql-with-trajc.nix)")
    check("cp --target-directory=$out/bin ${postgresql}/bin/{postgres,pg_config,pg_ctl}" in generic
          and "wrapProgram $out/bin/postgres --set NIX_PGLIBDIR $out/lib" in generic,
          "withPackages re-wraps postgres with NIX_PGLIBDIR, as psql-with-trajc.nix does")
    with open(os.path.join(HERE, "nix", "psql-with-trajc.nix")) as f:
        nix = f.read()
    check("cp --target-directory=$out/bin ${postgresql}/bin/{postgres,pg_config,pg_ctl}" in nix
          and "wrapProgram $out/bin/postgres --set NIX_PGLIBDIR $out/lib" in nix,
          "... and psql-with-trajc.nix does the same")
    check(re.search(r"buildInputs = \[ curl postgresql \]", pg_net) is not None,
          "pg_net (in the image) links nixpkgs' curl: trajc.nix takes the same curl")
    theirs_preload = listed(conf_value(pgconf, "shared_preload_libraries"))
    check(listed(conf_value(conf, "shared_preload_libraries")) == theirs_preload + ["trajc"],
          "shared_preload_libraries = the image's list + trajc", str(theirs_preload))
    theirs_priv = listed(conf_value(supautils, "supautils.privileged_extensions"))
    check(listed(conf_value(conf, "supautils.privileged_extensions")) == theirs_priv + ["trajc"],
          "supautils.privileged_extensions = the image's list + trajc")
    scripts = conf_value(supautils, "supautils.privileged_extensions_custom_scripts_path")
    check(scripts is not None and
          ("%s/trajc/after-create.sql" % scripts) in ours,
          "the after-create script goes to <%s>/trajc/after-create.sql" % scripts)
    check("ansible/files/postgresql_config/supautils.conf.j2 /etc/postgresql-custom/supautils.conf" in base
          and "include = '/etc/postgresql-custom/supautils.conf'" in base,
          "supautils.conf is /etc/postgresql-custom/supautils.conf, included by postgresql.conf")
    check(re.search(r"^\s*include_dir\s*=", pgconf, re.M) is None,
          "the image's postgresql.conf has no include_dir: the Dockerfile appends an include")
    check("supautils.privileged_extensions_superuser = 'supabase_admin'" in supautils
          and "supautils.privileged_role = 'postgres'" in supautils,
          "supautils runs privileged extensions as supabase_admin for postgres")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dockerfile", default=os.path.join(HERE, "Dockerfile"))
    ap.add_argument("--supabase-postgres", metavar="GITDIR",
                    help="git directory of a supabase/postgres clone (bare or .git)")
    args = ap.parse_args()
    local = check_local(args.dockerfile)
    if local is not None and args.supabase_postgres:
        head = subprocess.run(["git", "--git-dir", args.supabase_postgres, "rev-parse", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        print("against supabase/postgres %s" % head)
        check_against(args.supabase_postgres, local)
    print("%d check(s) failed" % len(FAILED) if FAILED else "all checks passed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
