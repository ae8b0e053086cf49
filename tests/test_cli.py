import subprocess
import sys


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitlab", *args], capture_output=True,
                          text=True, timeout=120)


def test_data_command_verifies_a_local_copy(mnist_dir):
    result = run_cli("data", "--source", str(mnist_dir))
    assert result.returncode == 0, result.stderr
    assert "train (60000, 28, 28), test (10000, 28, 28)" in result.stdout


def test_data_command_reports_a_bad_folder_clearly(tmp_path):
    result = run_cli("data", "--source", str(tmp_path))
    assert result.returncode == 2
    assert f"error: {tmp_path}/train-images-idx3-ubyte.gz: file not found" in result.stderr
    assert "Traceback" not in result.stderr
