"""yikatong-app.exe (installer/yikatong.spec, Windows only): the desktop app without a console window,
what the Start menu entry starts. The command line stays `yikatong.exe` (a console program)."""
import sys

from cli.main import main

sys.exit(main(["app", *sys.argv[1:]]))
