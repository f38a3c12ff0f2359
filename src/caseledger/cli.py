"""The `caseledger` console command: the project's manage.py."""

import os
import sys

HELP_FLAGS = frozenset({"-h", "--help", "help", "--version"})


def main() -> None:
    if sys.argv[1:2] == ["faces"]:
        # The face tools need no database and no secret key (biometrics/tool_settings.py).
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseledger.biometrics.tool_settings")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseledger.settings")
    if len(sys.argv) < 2 or HELP_FLAGS.intersection(sys.argv[1:]):
        # Help needs no configuration: settings then start without a secret key.
        os.environ.setdefault("CASELEDGER_HELP_ONLY", "1")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # Missing configuration is the operator's to fix: say what, without a traceback.
        sys.stderr.write(f"caseledger: {exc}\n")
        sys.exit(2)
    if os.environ.get("CASELEDGER_EXIT_FAST") == "1":
        # Set by `serve` for its loops: the command finished its work and closed its
        # connections; the interpreter's teardown adds nothing but seconds.
        from django.db import connections

        connections.close_all()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
