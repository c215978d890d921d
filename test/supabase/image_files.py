"""supabase/Dockerfile and its files, checked without Docker by
supabase/check_image.py: the checker passes on the repository's files and
fails on a broken Dockerfile. With TRAJC_SUPABASE_POSTGRES_GIT (the git
directory of a supabase/postgres clone) it also checks every path and
setting against that repository's own files.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "..", "cli", "lib"))
sys.path.insert(0, os.path.join(REPO, "supabase"))
from trajc_tap import Tap  # noqa: E402
import check_image  # noqa: E402

t = Tap()
CHECKER = os.path.join(REPO, "supabase", "check_image.py")

args = [sys.executable, CHECKER]
if os.environ.get("TRAJC_SUPABASE_POSTGRES_GIT"):
    args += ["--supabase-postgres", os.environ["TRAJC_SUPABASE_POSTGRES_GIT"]]
r = subprocess.run(args, capture_output=True, text=True)
for line in r.stdout.splitlines():
    print("# " + line)
t.eq(r.returncode, 0, "supabase/check_image.py passes on the repository's files", r.stdout)

BROKEN = {
    "an unknown instruction": "FROM x\nRUNN echo\n",
    "RUN before FROM": "ARG A=1\nRUN echo\nFROM x\n",
    "FROM without an image": "FROM\nRUN echo\n",
    "CMD with broken JSON": 'FROM x\nCMD ["postgres", \n',
    "COPY without a destination": "FROM x\nCOPY Makefile\n",
}
for what, text in BROKEN.items():
    try:
        check_image.parse_dockerfile(text)
        t.ok(False, "the parser rejects %s" % what)
    except ValueError:
        t.ok(True, "the parser rejects %s" % what)
with tempfile.NamedTemporaryFile("w", suffix=".Dockerfile") as f:
    f.write("FROM x\nCOPY no/such/file /tmp/\n")
    f.flush()
    r = subprocess.run([sys.executable, CHECKER, "--dockerfile", f.name], capture_output=True, text=True)
t.ok(r.returncode == 1 and "FAILED  COPY source no/such/file" in r.stdout,
     "the checker fails on a COPY source missing from the build context", r.stdout)
