import subprocess
import sys

from digitlab import config


def test_paths_do_not_depend_on_the_working_directory(tmp_path):
    code = "from digitlab import config; print(config.PROJ_ROOT, config.FIGURES_DIR)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, check=True, env={"PATH": ""})
    assert result.stdout.split() == [str(config.PROJ_ROOT), str(config.PROJ_ROOT / "figures")]
    assert (config.PROJ_ROOT / "src" / "digitlab" / "config.py").is_file()


def test_quick_mode_reads_the_environment(monkeypatch):
    monkeypatch.setenv("DIGITLAB_QUICK", "1")
    assert config.quick_mode()
    monkeypatch.setenv("DIGITLAB_QUICK", "0")
    assert not config.quick_mode()
