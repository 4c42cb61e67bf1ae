"""``python -m endpointlab`` runs the command line."""

from endpointlab.cli import main

if __name__ == "__main__":
    main()
