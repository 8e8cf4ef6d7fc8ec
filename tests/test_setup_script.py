"""The system step of ``tools/setup.sh``: root, a user with ``sudo`` and a user without it.

The README promises that the set-up command works as root without ``sudo``, as a user with it, and as
a user with neither (then it says what it skipped). These tests run the script's system step alone
(``--system-only``) with a ``PATH`` of stubs: ``id`` says who runs it, ``sudo`` and ``apt-get`` write
down how they were called and install nothing. The browser is never on that ``PATH``, so the script
always finds it missing and must ask for the right package names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "setup.sh"
BASH = shutil.which("bash")

pytestmark = pytest.mark.skipif(BASH is None or os.name != "posix", reason="needs bash on a POSIX system")

DEBIAN_BROWSER = {"chromium", "chromium-driver"}
UBUNTU_BROWSER = {"chromium-browser", "chromium-chromedriver"}


def _packages(call: str) -> set[str]:
    """The package names of an ``apt-get install -y -qq ...`` call (after an optional ``sudo -n``)."""
    words = call.split()
    return set(words[words.index("-qq") + 1 :])


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!{BASH}\n{body}")
    path.chmod(0o755)


def run_system_step(
    tmp_path: Path,
    *,
    uid: int,
    sudo: str | None,
    os_id: str = "debian",
    args: tuple[str, ...] = ("--system-only",),
) -> tuple[int, str, list[str]]:
    """Run the script's system step; return (exit code, stdout, the stubs' call log as lines)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    log.touch()
    os.symlink(shutil.which("dirname"), bin_dir / "dirname")  # the script's only other command
    _stub(bin_dir, "id", f'[ "$1" = "-u" ] && echo {uid}\n')
    _stub(bin_dir, "apt-get", f'echo "apt-get $*" >> "{log}"\n')
    if sudo == "passwordless":  # sudo -n true succeeds; sudo -n CMD runs CMD
        _stub(
            bin_dir,
            "sudo",
            f'echo "sudo $*" >> "{log}"\n[ "$1" = "-n" ] && shift\n[ "$1" = true ] && exit 0\nexec "$@"\n',
        )
    elif sudo == "needs a password":  # sudo -n fails, as it does when a password would be asked for
        _stub(bin_dir, "sudo", f'echo "sudo $*" >> "{log}"\nexit 1\n')
    os_release = tmp_path / "os-release"
    os_release.write_text(f"ID={os_id}\n")
    result = subprocess.run(
        [BASH, str(SCRIPT), *args],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path), "AEUTILS_OS_RELEASE": str(os_release)},
        stdin=subprocess.DEVNULL,  # no terminal: sudo cannot ask for a password
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stdout + result.stderr, log.read_text().splitlines()


def test_root_installs_with_apt_get_and_no_sudo(tmp_path):
    code, output, calls = run_system_step(tmp_path, uid=0, sudo=None)
    assert code == 0, output
    assert calls[0] == "apt-get update -qq"
    assert calls[1].startswith("apt-get install -y -qq ") and DEBIAN_BROWSER <= _packages(calls[1]), calls
    assert not any(call.startswith("sudo") for call in calls)
    assert "== virtual environment" not in output  # --system-only stops after the system packages


def test_a_user_with_passwordless_sudo_installs_through_sudo_n(tmp_path):
    code, output, calls = run_system_step(tmp_path, uid=1000, sudo="passwordless")
    assert code == 0, output
    assert calls[0] == "sudo -n true"  # the probe: may sudo run without asking?
    assert "sudo -n apt-get update -qq" in calls
    install = [call for call in calls if call.startswith("sudo -n apt-get install")]
    assert len(install) == 1 and DEBIAN_BROWSER <= _packages(install[0]), calls


@pytest.mark.parametrize("sudo", [None, "needs a password"])
def test_a_user_without_usable_sudo_is_told_what_was_skipped(tmp_path, sudo):
    code, output, calls = run_system_step(tmp_path, uid=1000, sudo=sudo)
    assert code == 0, output
    assert not any("apt-get" in call for call in calls), calls
    assert "== not installed (needs root and apt-get):" in output
    skipped = output.split("needs root and apt-get):", 1)[1].splitlines()[0].split()
    assert DEBIAN_BROWSER <= set(skipped), output
    assert "browser tests will be skipped" in output


def test_ubuntu_gets_its_own_package_names(tmp_path):
    code, output, calls = run_system_step(tmp_path, uid=0, sudo=None, os_id="ubuntu")
    assert code == 0, output
    assert UBUNTU_BROWSER <= _packages(calls[1]), calls
    assert not DEBIAN_BROWSER & _packages(calls[1])


def test_an_unknown_option_is_refused_before_anything_runs(tmp_path):
    code, output, calls = run_system_step(tmp_path, uid=0, sudo=None, args=("--sytem-only",))
    assert code == 2
    assert "usage: bash tools/setup.sh [--system-only]" in output
    assert calls == []
