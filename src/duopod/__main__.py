import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while Python was still starting up
    sys.exit(130)

main()
