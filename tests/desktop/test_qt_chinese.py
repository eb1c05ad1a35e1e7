"""Qt's own dialogs speak Chinese whatever the laptop's locale."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_file_dialog_and_message_box_buttons_are_chinese_under_lang_c():
    """With LANG=C the app's start still loads Qt's Chinese catalogues: every button, label and tooltip of
    the file dialog (open and save) and a message box's Yes/No read in Chinese."""
    env = {**os.environ, "LANG": "C", "LC_ALL": "C", "LANGUAGE": "", "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, str(HERE / "qt_dialog_child.py")], env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    texts = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"保存(&S)", "打开(&O)", "取消", "文件名称(&N)：", "查找范围(&L)："} <= set(texts), texts
    english = [t for t in texts if not re.search(r"[\u4e00-\u9fff]", t)]
    assert english == [], english
