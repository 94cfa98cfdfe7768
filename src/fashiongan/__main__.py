"""`python -m fashiongan ...`: the same as the `fashiongan` command (and what torchrun's `-m` launches)."""

from fashiongan.cli import main

if __name__ == "__main__":
    main()
