"""`python -m algospace ...`: the CLI without the console script (handy where nothing is installed)."""

from algospace.cli import main

if __name__ == "__main__":
    main()
