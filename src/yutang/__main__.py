"""``python -m yutang`` is the ``yutang`` command."""

from yutang.cli import main

if __name__ == "__main__":
    main()
