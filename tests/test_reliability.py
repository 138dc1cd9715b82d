"""Never a wrong kernel, never a lost file: code-emitting directives, input protection,
atomic writes, option checks, tidy and idempotent output."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.checks.verify import straight_line
from scheduler.cli import main
from scheduler.frontend.parse import parse_text

INST_KERNEL = """\
\tmul x2, x5, x6
\tadd x7, x2, x2
\tmul x2, x8, x9
\tadd x10, x2, x2
\t.inst 0x9b037c41
\tstp x1, x7, [x0]
\tstp x10, x1, [x0, #16]
\tret
"""
FAST = ["--time-limit", "2", "--deterministic", "--workers", "1"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_inst_is_decoded_into_the_block():
    prog = parse_text(INST_KERNEL)
    (block,) = prog.blocks()
    ins = block.instructions[4]
    assert (str(ins), ins.text) == ("mul x1, x2, x3", ".inst 0x9b037c41")
    assert "x2" in ins.reads and "x1" in ins.writes


def test_inst_example_is_scheduled_correctly(tmp_path, capsys):
    """The reported miscompile: renaming x8*x9 away from x2 must make the `.inst` read it there."""
    src = _write(tmp_path, "k.s", INST_KERNEL)
    out = tmp_path / "k.out.s"
    assert main(["optimize", str(src), "-o", str(out), *FAST]) == 0
    # compare with the `.inst` spelled out in both files, the outputs the output declares
    spelled = _write(tmp_path, "k_m.s", INST_KERNEL.replace(".inst 0x9b037c41", "mul x1, x2, x3"))
    cand = out.read_text()
    assert ".inst" in cand or "mul x" in cand
    cand_m = _write(tmp_path, "o_m.s", cand.replace(".inst 0x9b037c41", "mul x1, x2, x3"))
    capsys.readouterr()
    assert main(["verify", str(spelled), str(cand_m), "--outputs", "x0", "--prove"]) == 0


@pytest.mark.parametrize("directive", [".inst 0xd503201f", ".byte 1, 2, 3, 4", ".word 0xffffffff",
                                       ".quad 0", ".fill 4, 1, 0", ".skip 4"])
def test_undecodable_code_fences_the_block_and_pins_registers(tmp_path, directive, capsys):
    text = INST_KERNEL.replace(".inst 0x9b037c41", directive)
    prog = parse_text(text)
    assert [len(b.instructions) for b in prog.blocks()] == [4, 2]
    assert prog.opaque_code
    with pytest.raises(Exception, match="cannot decode"):
        straight_line(prog)
    src = _write(tmp_path, "k.s", text)
    out = tmp_path / "k.out.s"
    assert main(["optimize", str(src), "-o", str(out), *FAST]) == 0
    body = out.read_text()
    assert directive in body
    # every register the first block leaves may be read by the opaque bytes: x2 and x7 keep their values
    assert "@outputs" not in body or all(r in body.split("@outputs")[1].splitlines()[0] for r in ("x2", "x7", "x10"))


def test_data_directives_outside_code_sections_are_data():
    prog = parse_text(".data\n.word 0x9b037c41\n.text\n\tmul x1, x2, x3\n")
    assert not prog.opaque_code and len(prog.instructions) == 1


@pytest.mark.parametrize("how", ["same", "dot", "symlink", "hardlink"])
def test_output_naming_the_input_is_refused(tmp_path, how, capsys):
    src = _write(tmp_path, "k.s", INST_KERNEL)
    target = {"same": str(src), "dot": os.path.join(str(tmp_path), ".", "k.s")}.get(how)
    if how == "symlink":
        (tmp_path / "link.s").symlink_to(src)
        target = str(tmp_path / "link.s")
    elif how == "hardlink":
        os.link(src, tmp_path / "hard.s")
        target = str(tmp_path / "hard.s")
    assert main(["optimize", str(src), "-o", target, *FAST]) == 2
    assert "names the input file" in capsys.readouterr().err
    assert src.read_text() == INST_KERNEL


@pytest.mark.parametrize("opt", ["--report", "--certificate"])
def test_report_or_certificate_naming_the_input_is_refused(tmp_path, opt, capsys):
    src = _write(tmp_path, "k.s", INST_KERNEL)
    assert main(["optimize", str(src), "-o", str(tmp_path / "o.s"), opt, str(src), *FAST]) == 2
    assert src.read_text() == INST_KERNEL
    assert not (tmp_path / "o.s").exists()


def test_colliding_outputs_are_refused(tmp_path, capsys):
    src = _write(tmp_path, "k.s", INST_KERNEL)
    x = str(tmp_path / "x.s")
    assert main(["optimize", str(src), "-o", x, "--report", x, *FAST]) == 2
    assert "name the same file" in capsys.readouterr().err
    assert not Path(x).exists()


def test_in_place_keeps_a_backup(tmp_path, capsys):
    src = _write(tmp_path, "k.s", INST_KERNEL)
    assert main(["optimize", str(src), "--in-place", *FAST]) == 0
    assert (tmp_path / "k.s.orig").read_text() == INST_KERNEL
    assert src.read_text().startswith("// Scheduled by scheduler")
    assert (tmp_path / "k.s.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("target", ["/dev/full", "DIR"])
def test_unwritable_output_fails_before_the_solve(tmp_path, target, capsys):
    if target == "/dev/full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    src = _write(tmp_path, "k.s", INST_KERNEL)
    out = str(tmp_path) if target == "DIR" else target
    assert main(["optimize", str(src), "-o", out, *FAST]) == 2
    err = capsys.readouterr().err
    assert f"{out}: cannot write" in err and "block 1/1" not in err


def test_write_failure_keeps_the_result(tmp_path, monkeypatch):
    from scheduler.present import outfiles

    def fail(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(outfiles.os, "replace", fail)
    with pytest.raises(outfiles.OutputError, match="saved to") as e:
        outfiles.write_atomic(tmp_path / "x.s", "text\n")
    saved = str(e.value).rsplit("saved to ", 1)[1]
    assert Path(saved).read_text() == "text\n"
    os.unlink(saved)


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "abc"])
def test_bad_time_limit_is_a_usage_error(tmp_path, value, capsys):
    src = _write(tmp_path, "k.s", INST_KERNEL)
    with pytest.raises(SystemExit) as e:
        main(["optimize", str(src), "--time-limit", value])
    assert e.value.code == 2


def test_flags_live_out_of_a_renamed_block(tmp_path, capsys):
    src = _write(tmp_path, "k.s", "\tmul x4, x5, x6\n\tadd x7, x4, x4\n\tmul x4, x8, x9\n"
                                  "\tadds x1, x2, x4\n1:\tadcs x1, x1, x7\n")
    out = tmp_path / "o.s"
    assert main(["optimize", str(src), "-o", str(out), *FAST]) == 0
    assert parse_text(out.read_text()).instructions  # the header's @outputs (with nzcv) parses back


def test_irp_expansion_is_written_expanded(tmp_path, capsys):
    src = _write(tmp_path, "k.s", "\tmul x4, x5, x6\n\tadd x7, x4, x4\n.irp r, x2, x3\n\tmul \\r, \\r, x1\n"
                                  "\tadd \\r, \\r, x1\n.endr\n\tmul x5, x2, x3\n\tret\n")
    out = tmp_path / "o.s"
    assert main(["optimize", str(src), "-o", str(out), *FAST]) == 0
    text = out.read_text()
    assert ".irp" not in text and ".endr" not in text
    capsys.readouterr()
    assert main(["verify", str(src), str(out), "--prove"]) == 0


@pytest.mark.slow  # two optimizes per kernel (about 11 s)
@pytest.mark.parametrize("kernel", ["mul_4x4.s", "sqr_4x4.s"])
def test_reoptimizing_an_output_is_a_fixed_point(tmp_path, kernel, capsys):
    root = Path(__file__).resolve().parent.parent
    first, second = tmp_path / "a.s", tmp_path / "b.s"
    assert main(["optimize", str(root / "inputs" / kernel), "-o", str(first), *FAST]) == 0
    assert main(["optimize", str(first), "-o", str(second), *FAST]) == 0
    assert first.read_text() == second.read_text()
    assert second.read_text().count("// Scheduled by scheduler") == 1


def test_comments_follow_renamed_registers(tmp_path, capsys):
    text = ("\tmul x2, x5, x6  // x2 = a*b\n\tadd x7, x2, x2  // x7 = 2*x2\n\tmul x2, x8, x9  // x2 = c*d\n"
            "\tadd x10, x2, x2\n\tmul x1, x2, x3  // x1 = x2*x3\n\tstp x1, x7, [x0]\n\tstp x10, x1, [x0, #16]\n\tret\n")
    src = _write(tmp_path, "k.s", text)
    out = tmp_path / "o.s"
    assert main(["optimize", str(src), "-o", str(out), *FAST]) == 0
    for line in out.read_text().splitlines():
        if "//" in line and not line.startswith("//"):
            code, comment = line.split("//", 1)
            dest = code.split()[1].rstrip(",")
            lhs = comment.split("=")[0].strip()
            assert lhs == dest or "stale" in comment, line


# ------------------------------------------------------------------ issue 25: files

needs_cpp = pytest.mark.skipif(not (shutil.which("gcc") or shutil.which("cpp")), reason="no C preprocessor")
HEADER = "#define ACC x7\n"
S_KERNEL = '#include "inc/hdr.h"\n\tmul x2, x5, x6\n\tadd ACC, x2, x2\n\tmul x3, x5, x5\n\tadd x8, x8, x3\n'


@needs_cpp
@pytest.mark.parametrize("opt", ["-o", "--report", "--certificate", "--timeline"])
@pytest.mark.parametrize("spelling", ["plain", "dotted", "symlink"])
def test_output_naming_an_included_header_is_refused(tmp_path, capsys, monkeypatch, opt, spelling):
    """The report: `-o inc/hdr.h`, a header the .S input #includes, silently overwrote it (exit 0)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inc").mkdir()
    header = tmp_path / "inc" / "hdr.h"
    header.write_text(HEADER)
    _write(tmp_path, "k.S", S_KERNEL)
    target = {"plain": "inc/hdr.h", "dotted": "./inc/../inc/hdr.h", "symlink": "link.h"}[spelling]
    if spelling == "symlink":
        (tmp_path / "link.h").symlink_to(header)
    if opt == "--timeline":
        target_path = tmp_path / "inc" / "hdr.html"  # a timeline must end in .html/.svg/.png
        target_path.write_text(HEADER)
        (tmp_path / "k.S").write_text(S_KERNEL + '#include "inc/hdr.html"\n')
        target = "inc/hdr.html"
    argv = ["optimize", "k.S", *FAST] + (["-o", "out.s"] if opt != "-o" else []) + [opt, target]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{opt} names" in err and "a file that k.S reads" in err and "block 1/1" not in err, err
    assert header.read_text() == HEADER
    assert not (tmp_path / "out.s").exists() and not (tmp_path / "out.json").exists()


def test_output_naming_an_incbin_file_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "table.bin").write_bytes(b"\x01\x02")
    _write(tmp_path, "k.s", '\tmul x2, x5, x6\n\tadd x7, x2, x2\n\t.section .rodata\n\t.incbin "table.bin"\n')
    assert main(["optimize", "k.s", "-o", "table.bin", *FAST]) == 2
    assert "a file that k.s reads" in capsys.readouterr().err
    assert (tmp_path / "table.bin").read_bytes() == b"\x01\x02"


def test_in_place_twice_keeps_the_original(tmp_path, capsys):
    """The report: a second --in-place overwrote FILE.orig with the first output."""
    src = _write(tmp_path, "k.s", INST_KERNEL)
    assert main(["optimize", str(src), "--in-place", *FAST]) == 0
    first = src.read_text()
    assert main(["optimize", str(src), "--in-place", *FAST]) == 0
    assert main(["optimize", str(src), "--in-place", *FAST]) == 0
    assert (tmp_path / "k.s.orig").read_text() == INST_KERNEL
    assert (tmp_path / "k.s.orig.1").read_text() == first
    assert (tmp_path / "k.s.orig.2").read_text() == src.read_text()  # a fixed point by then
    assert f"the input was saved as {tmp_path / 'k.s.orig.2'}" in " ".join(capsys.readouterr().out.split())
    assert not (tmp_path / "k.s.orig.3").exists()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_new_files_get_the_umask_mode(tmp_path, capsys, umask, mode):
    """The report: every output was 0600 whatever the umask (tempfile.mkstemp)."""
    from scheduler.present.batch_report import write_html

    src = _write(tmp_path, "k.s", INST_KERNEL)
    old = os.umask(umask)
    try:
        outs = [tmp_path / n for n in ("o.s", "o.json", "c.json", "t.html")]
        assert main(["optimize", str(src), "-o", str(outs[0]), "--report", str(outs[1]),
                     "--certificate", str(outs[2]), "--timeline", str(outs[3]), *FAST]) == 0
        write_html(tmp_path / "report.html", [])  # what `scheduler batch` writes
        outs.append(tmp_path / "report.html")
    finally:
        os.umask(old)
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in outs} == {p.name: oct(mode) for p in outs}


def test_replaced_files_keep_their_mode(tmp_path, capsys):
    from scheduler.present.outfiles import write_atomic

    src = _write(tmp_path, "k.s", INST_KERNEL)
    out = _write(tmp_path, "o.s", "old\n")
    os.chmod(out, 0o640)
    os.chmod(src, 0o604)
    old = os.umask(0o077)
    try:
        assert main(["optimize", str(src), "-o", str(out), *FAST]) == 0
        assert main(["optimize", str(src), "--in-place", *FAST]) == 0
        write_atomic(tmp_path / "new.txt", "x\n")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o640
    assert src.stat().st_mode & 0o777 == 0o604
    assert (tmp_path / "k.s.orig").stat().st_mode & 0o777 == 0o604  # the backup: the input's mode
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o600


# ------------------------------------------------------------------ issue 25: the emitter

TWO_BLOCKS_ON_A_LINE = """\
// @outputs x7, x10, x12, x14
\tmul x2, x5, x6
\tadd x7, x2, x2
\tmul x12, x4, x4; mid: mul x13, x7, x12
\tadd x14, x13, x13
\tmul x9, x1, x3
\tadd x10, x9, x9
"""
REPT_LOCAL_LABEL = """\
\t.rept 2
\tmul x2, x5, x6
\tadd x7, x7, x2
\tmul x3, x5, x5
\tadd x8, x8, x3
\tcbz x8, 0f
0:
\tb 0b
\t.endr
\tret
"""


def _blocks(text: str) -> list[list[str]]:
    return [[str(i) for i in b.instructions] for b in parse_text(text).blocks()]


def test_two_blocks_on_one_line_are_both_written(tmp_path, capsys):
    """The report: `mul x12, x4, x4; mid: add x13, x7, x12` (a label between two statements, so
    two blocks on one line): optimize exited 1, 'emitted text does not match the schedule'."""
    src = _write(tmp_path, "k.s", TWO_BLOCKS_ON_A_LINE)
    out = tmp_path / "o.s"
    assert main(["optimize", str(src), "-o", str(out), *FAST]) == 0
    text = out.read_text()
    before, after = _blocks(TWO_BLOCKS_ON_A_LINE), _blocks(text)
    assert [sorted(b) for b in before] == [sorted(b) for b in after] and before != after  # both reordered
    assert "mid:" in text
    capsys.readouterr()
    assert main(["verify", "--prove", str(src), str(out)]) == 0


def test_rept_with_a_local_label_is_written(tmp_path, capsys):
    """The report: a .rept body with a local label (`0:`, `0b`/`0f`) exited 1 for the same reason.
    The expansion is written out; every block of it is proved equal to the input's."""
    from scheduler.checks.prove import prove

    src = _write(tmp_path, "k.s", REPT_LOCAL_LABEL)
    out = tmp_path / "o.s"
    assert main(["optimize", str(src), "-o", str(out), *FAST]) == 0
    text = out.read_text()
    assert ".rept" not in text and text.count("0:") == 2 and text.count("b 0b") == 2
    before, after = parse_text(REPT_LOCAL_LABEL).blocks(), parse_text(text).blocks()
    assert [len(b.instructions) for b in before] == [len(b.instructions) for b in after]
    assert [[str(i) for i in b.instructions] for b in before] != [[str(i) for i in b.instructions] for b in after]
    for b, a in zip(before, after, strict=True):
        assert prove(b.instructions, a.instructions).status == "proved"
    if shutil.which("aarch64-linux-gnu-as"):
        from scheduler.frontend.assemble import assemble_text

        assert len(assemble_text(text, assembler=("gnu-as", shutil.which("aarch64-linux-gnu-as")))) == 4 * 13


# ------------------------------------------------------------------ issue 25: Ray after kill -9

def _session_members(sid: int, exclude: int) -> list[str]:
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,sid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines()]
    return [" ".join(r) for r in rows if len(r) == 3 and int(r[1]) == sid and int(r[0]) != exclude
            and "<defunct>" not in r[2]]


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the reaper reads /proc (Linux)")
def test_the_reaper_kills_an_orphan_that_lost_the_mark():
    """How Ray's agents outlived a killed driver: the raylet started them, then died with the
    driver; re-parented, they are no longer below a marked process, and may not carry the mark.
    The reaper noted them while the driver ran, and kills them by what it noted."""
    from scheduler.present.reaper import ENV, Reaper

    reaper = Reaper()
    child = None
    try:
        script = ("import subprocess, time; "
                  "c = subprocess.Popen(['sleep', '120'], env={'PATH': '/usr/bin:/bin'}); "
                  "print(c.pid, flush=True); time.sleep(2.5)")
        parent = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ, **{ENV: reaper.token}),
                                  stdout=subprocess.PIPE, text=True)
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        parent.wait()  # the marked parent is gone; its child lives on without the mark
        assert _running(child)
        reaper.close()  # the driver is done: the reaper kills what it noted
        reaper.proc.wait(timeout=60)
        assert not _running(child)
    finally:
        reaper.close()
        if child is not None and _running(child):
            os.kill(child, signal.SIGKILL)


@pytest.mark.slow  # starts and kills a local Ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs ray")
def test_no_ray_process_outlives_a_killed_batch_driver(tmp_path):
    """The report: after `kill -9` of a `scheduler batch` driver two Ray processes (the dashboard
    and runtime-env agents) were left running. The driver runs in a session of its own here, so
    every process it starts (Ray's included) is found by session id."""
    shutil.copy(Path(__file__).resolve().parent.parent / "inputs" / "mul_4x4.s", tmp_path / "k.s")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    driver = subprocess.Popen([sys.executable, "-m", "scheduler", "batch", "k.s", "--out", "out", "--store", "s.db",
                               "--time-limit", "60", "--num-cpus", "1", "--json"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # until the task runs in a Ray worker
            members = _session_members(driver.pid, driver.pid)
            if any("run_task" in m for m in members):
                break
            assert driver.poll() is None, "the batch ended before it could be killed"
            time.sleep(0.5)
        else:
            pytest.fail(f"no Ray worker started: {members}")
        assert any("raylet" in m for m in members) and any("Agent" in m for m in members), members
        driver.kill()
        driver.wait()
        # the reaper's SIGTERM, grace and SIGKILL rounds take a few seconds, more on a loaded
        # machine; without it the agents lingered 30-60 s
        deadline = time.monotonic() + 15
        while _session_members(driver.pid, driver.pid) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert _session_members(driver.pid, driver.pid) == []
    finally:
        if driver.poll() is None:
            driver.kill()
